"""The Dask client trials run on: a `LocalCluster` of `workers` single-threaded workers, or an
existing cluster's scheduler (`tcp://HOST:8786`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from distributed import Client, LocalCluster

from parity.errors import ConfigError


@contextlib.contextmanager
def dask_client(
    workers: int = 1, scheduler: str | None = None, *, processes: bool = True
) -> Iterator[Client]:
    """A client for the optimisation. `processes=False` runs the workers as threads of this
    process (no start-up cost; for small studies and tests)."""
    # the scheduler's and workers' INFO lines would flood the console parity's logging owns
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc}); "
                "start one with `dask scheduler` or leave --scheduler out for a local cluster"
            ) from None
        with client:
            yield client
        return
    if workers < 1:
        raise ConfigError(f"--workers {workers} must be at least 1")
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            # the scheduler's HTTP endpoints on a free loopback port: a fixed 8787 clashes
            # with any other cluster on the machine
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,  # a worker outliving the scheduler at close
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
