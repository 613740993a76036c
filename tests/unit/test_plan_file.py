"""read_plan: a valid plan becomes typed rows; every bad input is one line naming the file, the
line, the column, the value and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parity.errors import ConfigError, DataError
from parity.strategies.params import coerce_params
from parity.strategies.plan import PlanStrategy
from parity.strategies.plan_file import read_plan

HEADER = "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
GOOD = [
    "2024-01-02,IBM,long,10,,market,,104,96,,5,breakout,0.7",
    "2024-01-03,ibm,short,,0.01,limit,101,95,105,2024-01-10,,fade,-0.2",
    "2024-01-04,AAPL,buy,3,,stop,102,110,99,,,,",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "trade_plan.csv"
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def error(tmp_path: Path, rows: list[str], header: str = HEADER, **kwargs) -> str:
    path = write(tmp_path, rows, header)
    with pytest.raises(DataError) as caught:
        read_plan(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_plan_reads_into_typed_rows(tmp_path: Path) -> None:
    rows = read_plan(write(tmp_path, GOOD), symbols={"IBM", "AAPL"})
    first, second, third = rows
    assert (first.line, first.date, first.symbol, first.side) == (
        2,
        dt.date(2024, 1, 2),
        "IBM",
        "long",
    )
    assert (first.qty, first.risk, first.entry_type, first.entry) == (10.0, None, "market", None)
    assert (first.tp, first.sl, first.max_days, first.tag, first.score) == (
        104,
        96,
        5,
        "breakout",
        0.7,
    )
    assert (second.symbol, second.side, second.risk, second.entry) == ("IBM", "short", 0.01, 101.0)
    assert second.valid_until == dt.date(2024, 1, 10)
    assert (third.side, third.entry_type, third.tag, third.score) == ("long", "stop", "", None)
    assert first.record()["date"] == "2024-01-02"


@pytest.mark.parametrize(
    ("line", "row", "expected"),
    [
        (2, "2024-01-02,IBM,long,10,,market,,104,97,,5,,", None),  # sanity: valid
        (
            2,
            "2024-01-02,IBM,long,10,,limit,100,104,101,,5,,",
            "line 2: sl '101' is not below the entry 100 of a long; lower it",
        ),
        (
            3,
            "2024-01-03,IBM,long,10,,market,,104,105,,5,,",
            "line 3: sl '105' is not below the take-profit 104 of a long; lower it",
        ),
        (
            2,
            "2024-01-02,IBM,short,10,,limit,100,99,98,,5,,",
            "line 2: sl '98' is not above the take-profit 99 of a short; raise it",
        ),
        (
            2,
            "2024-01-02,IBM,long,-10,,market,,104,96,,5,,",
            "line 2: qty '-10' must be positive; give a positive number of shares",
        ),
        (
            2,
            "2024-01-02,MSFT,long,10,,market,,104,96,,5,,",
            "line 2: symbol 'MSFT' is not a symbol of this run; add it to --symbols "
            "(trading: AAPL, IBM) or remove the row",
        ),
        (
            2,
            "2024-02-30,IBM,long,10,,market,,104,96,,5,,",
            "line 2: date '2024-02-30' is not a date; use YYYY-MM-DD, e.g. 2012-01-31",
        ),
        (
            2,
            "2024-01-02,IBM,long,10,0.01,market,,104,96,,5,,",
            "line 2: qty '10' and risk are both given; size the row by qty (shares) or by risk",
        ),
        (2, "2024-01-02,IBM,long,,,market,,104,96,,5,,", "qty '' and risk are both empty"),
        (2, "2024-01-02,IBM,up,10,,market,,104,96,,5,,", "line 2: side 'up' is not a side"),
        (2, "2024-01-02,IBM,long,10,,twap,,104,96,,5,,", "entry_type 'twap' is not an entry"),
        (2, "2024-01-02,IBM,long,10,,limit,,104,96,,5,,", "entry '' is empty; give the entry"),
        (2, "2024-01-02,IBM,long,10,,market,,abc,96,,5,,", "tp 'abc' is not a number"),
        (2, "2024-01-02,IBM,long,10,,market,,104,96,,0,,", "max_days '0' must be at least 1"),
        (2, "2024-01-02,IBM,long,10,,market,,104,96,,2.5,,", "max_days '2.5' is not a whole"),
        (2, "2024-01-02,IBM,long,1,2,market,,104,96,,,,", "qty '1' and risk are both given"),
        (2, "2024-01-02,IBM,long,,2,market,,104,96,,,,", "risk '2' is more than all of equity"),
        (
            2,
            "2024-01-05,IBM,long,10,,market,,104,96,2024-01-04,,,",
            "valid_until '2024-01-04' is before the row's date 2024-01-05",
        ),
        (2, "2024-01-02,IBM,long,10,,market,,104,96,,5,,,,", "line 2: 15 cells for 13 columns"),
    ],
)
def test_each_bad_row_is_one_line_naming_file_line_column_value_and_fix(
    tmp_path: Path, line: int, row: str, expected: str | None
) -> None:
    rows = [GOOD[0], row] if line == 3 else [row]
    if expected is None:
        assert len(read_plan(write(tmp_path, rows), symbols={"IBM", "AAPL"})) == 1
        return
    message = error(tmp_path, rows, symbols={"IBM", "AAPL"})
    assert message.startswith(f"{tmp_path / 'trade_plan.csv'} line {line}")
    assert expected in message


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("date,symbol,side,qty,tp,sl,colour\n", "line 1: unknown column 'colour'; the columns are"),
        ("date,symbol,side,qty,tp,tp,sl\n", "line 1: column 'tp' appears twice; keep one"),
        ("date,symbol,side,qty,tp\n", "line 1: missing column(s) sl; a plan needs"),
        ("date,symbol,side,tp,sl\n", "line 1: no qty or risk column; size each row by one"),
        ("\n", "line 1: no header"),
    ],
)
def test_a_bad_header_is_one_line(tmp_path: Path, header: str, expected: str) -> None:
    assert expected in error(tmp_path, ["2024-01-02,IBM,long,10,104,96,x"], header=header)


def test_a_missing_or_empty_plan_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"plan file .*nope.csv does not exist; check --param"):
        read_plan(tmp_path / "nope.csv")
    assert "the plan has no rows" in error(tmp_path, [])


def test_the_plan_param_is_required_before_the_run() -> None:
    with pytest.raises(
        ConfigError, match=r"plan needs the plan file: --param plan=trade_plan\.csv"
    ):
        coerce_params(PlanStrategy, {})
    assert coerce_params(PlanStrategy, {"plan": "x.csv"}) == {"plan": "x.csv"}
