"""The assumptions table `parity compare` writes (`RUN/compare/assumptions.csv`), read for the
reports and the dashboard: rows as given, and a file without its columns or with a verdict
outside excellent/acceptable/concerning a one-line error naming the file and the fix (on the
dashboard: said on the panel, the page still served)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from parity.dashboard.options import options_view
from parity.errors import ReportError
from parity.reports.option_html import assumptions_html
from parity.reports.option_tables import ASSUMPTION_COLUMNS, read_assumptions

ROWS = [
    ("spread", 0.03, 0.05, 0.04, 0.05, 0.06, 56, 0.6667, "concerning"),
    ("execution rate", 1.0, 0.96, None, None, None, 29, -0.04, "excellent"),
    ("daily P&L", 341.77, 180.2, -120.5, 150.0, 420.0, 42, -0.4727, "acceptable"),
]


def write(run_dir: Path, frame: pd.DataFrame) -> Path:
    (run_dir / "compare").mkdir(parents=True, exist_ok=True)
    path = run_dir / "compare" / "assumptions.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_compared_run_reads_its_assumptions_and_renders_each_verdict(tmp_path: Path) -> None:
    assert read_assumptions(tmp_path) is None  # not compared
    write(tmp_path, pd.DataFrame(ROWS, columns=list(ASSUMPTION_COLUMNS)))
    rows = read_assumptions(tmp_path)
    assert rows is not None and [r["item"] for r in rows] == ["spread", "execution rate",
                                                              "daily P&L"]  # fmt: skip
    assert rows[0] == {"item": "spread", "assumed": 0.03, "measured": 0.05, "p10": 0.04,
                       "p50": 0.05, "p90": 0.06, "deviation": 0.6667, "n": 56,
                       "verdict": "concerning"}  # fmt: skip
    assert rows[1]["p10"] is None
    page = assumptions_html(rows)
    assert '<td class="verdict verdict-concerning">concerning</td>' in page
    assert "<td>341.77</td><td>180.20</td><td>-120.50</td><td>150</td><td>420</td>" in page
    assert "<td>+66.7%</td>" in page and "<td>-4.0%</td>" in page


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame(ROWS, columns=list(ASSUMPTION_COLUMNS)).drop(columns=["p10", "n"]),
         "lacks column(s) p10, n; it needs item, assumed, measured"),
        (pd.DataFrame([(*ROWS[0][:-1], "fine")], columns=list(ASSUMPTION_COLUMNS)),
         "verdict 'fine' is not one of excellent, acceptable, concerning"),
    ],
)  # fmt: skip
def test_a_bad_assumptions_file_is_a_one_line_error(
    tmp_path: Path, frame: pd.DataFrame, expected: str
) -> None:
    path = write(tmp_path, frame)
    with pytest.raises(ReportError) as err:
        read_assumptions(tmp_path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message
    assert "run parity compare again" in message and "\n" not in message


class _NoOrders:
    def orders(self) -> pd.DataFrame:
        return pd.DataFrame()

    def option_fills(self) -> pd.DataFrame | None:
        return None


def test_the_dashboard_says_a_bad_assumptions_file_on_its_panel(tmp_path: Path) -> None:
    write(tmp_path, pd.DataFrame({"item": ["spread"]}))
    view = options_view(tmp_path, _NoOrders(), pd.DataFrame())
    assert view is not None and view["assumptions"] is None
    assert "lacks column(s) assumed" in view["assumptions_error"]
    assert options_view(tmp_path / "other", _NoOrders(), pd.DataFrame()) is None
