"""The optimisation's inputs: search spaces, objectives, constraints, walk-forward periods and
windows. Good input parses to exact values; bad input is one line naming it and the fix."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from parity.errors import ConfigError
from parity.optimize.objective import parse_constraint, parse_objective
from parity.optimize.space import parse_space
from parity.optimize.walkforward import Window, parse_period, stitch, windows

EXAMPLE = "e.g. --space fast=5:50:5 or --space sizing=fixed,percent"


def test_space_ranges_and_choices() -> None:
    space = parse_space(["fast=5:20:5", "size=0.5:0.7:0.1", "sizing=fixed,percent", "x=1,2.5"])
    assert [d.grid() for d in space.dimensions] == [
        (5, 10, 15, 20), (0.5, 0.6, 0.7), ("fixed", "percent"), (1, 2.5),
    ]  # fmt: skip
    assert space.grid_size() == 4 * 3 * 2 * 2
    assert next(space.grid()) == {"fast": 5, "size": 0.5, "sizing": "fixed", "x": 1}
    assert space.describe()["fast"] == "5:20:5"


def test_space_file(tmp_path: Path) -> None:
    file = tmp_path / "space.yaml"
    file.write_text("fast: 5:15:5\nslow: {low: 20, high: 40, step: 20}\nsizing: [fixed, percent]\n")
    space = parse_space(["fast=7,9"], file)  # a flag wins over the file
    assert [d.grid() for d in space.dimensions] == [(7, 9), (20, 40), ("fixed", "percent")]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["fast"], "--space 'fast' must be NAME=LOW:HIGH[:STEP] or NAME=A,B; " + EXAMPLE),
        (["fast=50:5:5"], "space fast=50:5:5: HIGH 5 is below LOW 50; swap them"),
        (["fast=5:50:0"], "space fast=5:50:0: STEP must be positive, e.g. fast=5:50:1"),
        (["fast=a:b"], "space fast=a:b: LOW, HIGH and STEP must be numbers, e.g. fast=5:50:5"),
        (["fast=1:2:3:4"], "space fast=1:2:3:4 must be LOW:HIGH or LOW:HIGH:STEP, "
         "e.g. fast=5:50:5"),
        (["s=a,,b"], "space s: choices must be non-empty, e.g. s=fixed,percent"),
        (["s=a,a"], "space s: choice a,a repeats a value; list each once"),
        ([], "no search space: give --space or --space-file; " + EXAMPLE),
    ],
)  # fmt: skip
def test_bad_space_is_one_line(items: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_space(items)
    assert str(caught.value) == message


def test_a_continuous_range_has_no_grid() -> None:
    space = parse_space(["size=0.1:0.9"])
    with pytest.raises(
        ConfigError, match="space size: a continuous range has no grid; give a step"
    ):
        space.grid_size()


def test_bad_space_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"space file .* does not exist; check --space-file"):
        parse_space([], tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must map parameter names to ranges"):
        parse_space([], bad)


def test_objective_and_constraints() -> None:
    assert parse_objective("sharpe").metric == "sharpe"
    constraint = parse_constraint("max_drawdown > -0.2")
    assert (constraint.metric, constraint.op, constraint.bound) == ("max_drawdown", ">", -0.2)
    assert constraint.holds({"max_drawdown": -0.1}) and not constraint.holds({"max_drawdown": -0.3})
    assert not constraint.holds({"max_drawdown": None})
    assert parse_constraint("trades>=30").holds({"trades": 30})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sharp", "--objective 'sharp' is not a metric; use one of total_return"),
        ("nope.py:f", "--objective nope.py:f: file nope.py does not exist"),
        ("x.txt:f", "--objective x.txt:f must be a metric name or path/to/file.py:function"),
    ],
)
def test_bad_objective(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_objective(text)
    assert str(caught.value).startswith(message)


def test_objective_file_without_the_function(tmp_path: Path) -> None:
    script = tmp_path / "score.py"
    script.write_text("def other(result):\n    return 1\n")
    with pytest.raises(ConfigError, match=r"score.py has no function score$"):
        parse_objective(f"{script}:score")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_drawdown", "--constraint 'max_drawdown' must be METRIC OP NUMBER with OP one of"),
        ("drawdown>-0.2", "--constraint 'drawdown>-0.2': drawdown is not a metric; use one of"),
        ("trades>=lots", "--constraint 'trades>=lots': 'lots' is not a number"),
        ("trades>=inf", "--constraint 'trades>=inf': 'inf' must be a finite number"),
    ],
)
def test_bad_constraint(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_constraint(text)
    assert str(caught.value).startswith(message)


def test_periods() -> None:
    assert parse_period("2y", "--train") == pd.DateOffset(years=2)
    assert parse_period("6M", "--test") == pd.DateOffset(months=6)
    for bad in ("0m", "6", "six months", "-1y"):
        with pytest.raises(ConfigError, match="must be a positive period like 2y, 6m, 4w or 30d"):
            parse_period(bad, "--test")


def _overlap(window: Window) -> bool:
    return window.test_start < window.train_end


@pytest.mark.parametrize("anchored", [False, True])
def test_walk_forward_windows_never_test_on_training_bars(anchored: bool) -> None:
    found = windows(
        pd.Timestamp("2000-03-01"), pd.Timestamp("2013-03-01"),
        pd.DateOffset(years=2), pd.DateOffset(months=6), pd.DateOffset(months=6),
        anchored=anchored,
    )  # fmt: skip
    assert len(found) == 23
    assert found[0].describe() == {
        "train": "2000-03-01..2002-02-28",
        "test": "2002-03-01..2002-08-31",
    }
    assert found[-1].test_end == pd.Timestamp("2013-03-02")
    for w in found:
        assert not _overlap(w)
        assert w.train_start == (pd.Timestamp("2000-03-01") if anchored else w.train_start)
    for a, b in itertools.pairwise(found):
        assert a.test_end == b.test_start  # test windows tile the out-of-sample span, no overlap


def test_a_window_whose_training_reaches_into_its_test_is_refused() -> None:
    with pytest.raises(ValueError, match="training must end before testing begins"):
        Window(0, pd.Timestamp("2001-01-01"), pd.Timestamp("2002-01-02"),
               pd.Timestamp("2002-01-01"), pd.Timestamp("2002-07-01"))  # fmt: skip
    with pytest.raises(ConfigError, match="--step is shorter than --test"):
        windows(pd.Timestamp("2000-01-01"), pd.Timestamp("2010-01-01"), pd.DateOffset(years=2),
                pd.DateOffset(months=6), pd.DateOffset(months=3))  # fmt: skip
    with pytest.raises(ConfigError, match="no walk-forward window fits"):
        windows(pd.Timestamp("2000-01-01"), pd.Timestamp("2001-01-01"), pd.DateOffset(years=2),
                pd.DateOffset(months=6), pd.DateOffset(months=6))  # fmt: skip


def test_stitch_chains_pieces() -> None:
    index = pd.date_range("2020-01-01", periods=2, freq="D", name="datetime")
    first = pd.DataFrame({"value": [100.0, 110.0], "cash": [100.0, 0.0]}, index=index)
    second = pd.DataFrame(
        {"value": [100.0, 90.0], "cash": [100.0, 100.0]}, index=index + pd.Timedelta(days=2)
    )
    stitched = stitch([first, second], 100.0)
    assert stitched["value"].tolist() == pytest.approx([100.0, 110.0, 110.0, 99.0], rel=1e-15)
    assert stitched["cash"].tolist() == pytest.approx([100.0, 0.0, 110.0, 110.0], rel=1e-15)
