"""The dashboard's aiohttp application: two pages, their JSON, and the bundled static files.

Pages: `/` (runs) and `/runs/{run_id}`; JSON: `/api/runs` and `/api/runs/{run_id}/summary`.
Every API error is a JSON body `{"error": message}` (404 unknown run or path, 400 bad query).
A Content-Security-Policy of `'self'` keeps the pages from loading anything from elsewhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from parity.dashboard.catalog import Catalog, RunRef, utcnow
from parity.dashboard.hosts import HostCheck
from parity.dashboard.twin import TwinWorker
from parity.dashboard.views import run_row, summary
from parity.errors import JournalError, ParityError, RunNotFoundError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CATALOG: web.AppKey[Catalog] = web.AppKey("parity_dashboard_catalog", Catalog)
WORKER: web.AppKey[TwinWorker | None] = web.AppKey("parity_dashboard_twin")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SUMMARY_PARAMS = {"since", "twin_rev", "fills"}
MAX_FILLS = 1000


def static_dir() -> Path:
    """The bundled pages, scripts and vendored chart library (package data)."""
    return Path(str(resources.files("parity.dashboard") / "static"))


class BadQuery(ValueError):
    """A query parameter that cannot be used (400)."""


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors under /api; a one-line text error for pages. Every response gets the CSP."""
    api = request.path.startswith("/api/")
    try:
        response = await handler(request)
    except BadQuery as exc:
        response = _json({"error": str(exc)}, 400)
    except RunNotFoundError as exc:
        response = (
            _json({"error": str(exc)}, 404) if api else web.Response(status=404, text=f"{exc}\n")
        )
    except JournalError as exc:
        response = (
            _json({"error": str(exc)}, 503) if api else web.Response(status=503, text=f"{exc}\n")
        )
    except web.HTTPException as exc:
        if not api:
            raise
        message = f"{exc.reason}: {request.method} {request.path}"
        response = _json({"error": message}, exc.status)
    except Exception as exc:
        log.exception("dashboard %s failed", request.path)
        text = f"internal error {type(exc).__name__}: {exc}"
        response = _json({"error": text}, 500) if api else web.Response(status=500, text=text)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _page(name: str) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        if "run_id" in request.match_info:
            catalog = request.app[CATALOG]
            await asyncio.to_thread(catalog.get, request.match_info["run_id"])
        return web.FileResponse(static_dir() / name, headers={"Cache-Control": "no-store"})

    return page


def _rows(catalog: Catalog) -> list[dict[str, Any]]:
    rows = []
    for ref in catalog.refs():
        try:
            rows.append(run_row(catalog, ref))
        except (ParityError, OSError, ValueError) as exc:  # one unreadable run never hides the rest
            rows.append({"run_id": ref.run_id, "status": "unreadable", "detail": str(exc)})
    rows.sort(key=lambda r: (str(r.get("created_at") or ""), r["run_id"]), reverse=True)
    return rows


async def api_runs(request: web.Request) -> web.StreamResponse:
    if request.query:
        raise BadQuery(f"/api/runs takes no query parameters (got {', '.join(request.query)})")
    catalog = request.app[CATALOG]
    rows = await asyncio.to_thread(_rows, catalog)
    return _json({"runs_dir": str(catalog.runs_dir), "runs": rows,
                  "generated_at": utcnow().isoformat()})  # fmt: skip


def parse_summary_query(query: Any) -> dict[str, Any]:
    """`since` (a naive ISO bar time, as sent back in `series.cursor`), `twin_rev` (as sent in
    `twin.rev`), `fills` (how many recent fills, 1..1000, default 50)."""
    unknown = sorted(set(query) - SUMMARY_PARAMS)
    if unknown:
        raise BadQuery(
            f"unknown query parameter {unknown[0]!r}; use {', '.join(sorted(SUMMARY_PARAMS))}"
        )
    since = None
    if query.get("since"):
        try:
            since = dt.datetime.fromisoformat(query["since"])
        except ValueError:
            raise BadQuery(
                f"since={query['since']!r} is not an ISO date-time; send back series.cursor"
            ) from None
        if since.tzinfo is not None:
            raise BadQuery(f"since={query['since']!r} must be a naive bar time (series.cursor)")
    fills = 50
    if "fills" in query:
        try:
            fills = int(query["fills"])
        except ValueError:
            raise BadQuery(f"fills={query['fills']!r} is not a whole number") from None
        if not 1 <= fills <= MAX_FILLS:
            raise BadQuery(f"fills={fills} must be between 1 and {MAX_FILLS}")
    twin_rev = query.get("twin_rev")
    if twin_rev is not None and len(twin_rev) > 200:
        raise BadQuery("twin_rev is too long; send back twin.rev")
    return {"since": since, "fills_limit": fills, "twin_rev": twin_rev}


async def api_summary(request: web.Request) -> web.StreamResponse:
    options = parse_summary_query(request.query)
    catalog, worker = request.app[CATALOG], request.app[WORKER]

    def build() -> dict[str, Any]:
        ref: RunRef = catalog.get(request.match_info["run_id"])
        return summary(catalog, ref, worker=worker, **options)

    return _json(await asyncio.to_thread(build))


async def _cleanup(app: web.Application) -> None:
    worker = app[WORKER]
    if worker is not None:
        await asyncio.to_thread(worker.stop)
    app[CATALOG].close()


async def _startup(app: web.Application) -> None:
    worker = app[WORKER]
    if worker is not None:
        worker.start()


def build_app(
    catalog: Catalog, worker: TwinWorker | None = None, hosts: HostCheck | None = None
) -> web.Application:
    """The dashboard over `catalog`; `worker` computes twins of paper runs (None: only the
    twins `parity compare` wrote are shown); `hosts` refuses a request for another name (DNS
    rebinding)."""
    guard = [hosts.middleware()] if hosts is not None else []
    app = web.Application(middlewares=[*guard, errors_middleware])
    app[CATALOG] = catalog
    app[WORKER] = worker
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/runs/{run_id}", _page("run.html"))
    app.router.add_get("/api/runs", api_runs)
    app.router.add_get("/api/runs/{run_id}/summary", api_summary)
    app.router.add_static("/static/", static_dir(), append_version=False)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    return app
