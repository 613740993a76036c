"""Option orders: one to four legs with ratios, a quantity of combo units, and a net limit (a
minimum credit or a maximum debit per unit) or none (market). All legs fill or none do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from parity.errors import ConfigError
from parity.options.contracts import OptionContract

Status = Literal["submitted", "filled", "rejected", "cancelled", "expired"]
EventKind = Literal["trade", "exercise", "assignment", "expiry", "cash_settlement"]
MAX_LEGS = 4


@dataclass(frozen=True, slots=True)
class Leg:
    """`ratio` contracts per combo unit: positive buys, negative sells."""

    contract: OptionContract
    ratio: int

    def __post_init__(self) -> None:
        if not isinstance(self.ratio, int) or self.ratio == 0:
            raise ConfigError(
                f"leg {self.contract.symbol}: ratio {self.ratio!r} must be a non-zero whole "
                "number (+1 buys one contract per combo, -1 sells one)"
            )


@dataclass(eq=False)
class OptionOrder:
    """A combo (one leg for a single-contract order). `net` prices are per combo unit and per
    unit of the underlying (x the multiplier for cash): positive is a debit paid."""

    ref: int
    legs: tuple[Leg, ...]
    qty: int
    created: dt.datetime
    credit: float | None = None  # at least this net credit per unit
    debit: float | None = None  # at most this net debit per unit
    tif: Literal["day", "gtc"] = "day"
    group: int = 0  # the position group (trade) it opens or closes
    tag: str = ""
    status: Status = "submitted"
    reason: str = ""
    filled_at: dt.datetime | None = None
    net: float | None = None  # the net price filled per unit (debit > 0; average of fills)
    filled: int = 0  # combo units filled so far (a single leg fills in parts against sizes)
    tried: bool = field(default=False, repr=False)
    # a net debit (buy) or credit (sell): the limit's, else the net mid when it was submitted
    side: Literal["buy", "sell"] = "buy"
    # the run's client order id (the recorder mints it when the order is submitted): what a
    # venue knows the order by
    client_order_id: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.legs) <= MAX_LEGS:
            raise ConfigError(f"an option order has 1 to {MAX_LEGS} legs, got {len(self.legs)}")
        symbols = [leg.contract.symbol for leg in self.legs]
        if len(set(symbols)) != len(symbols):
            raise ConfigError(f"an option order names a contract twice: {', '.join(symbols)}")
        if len({leg.contract.underlying for leg in self.legs}) != 1:
            raise ConfigError("the legs of one option order must share an underlying")
        if not isinstance(self.qty, int) or self.qty <= 0:
            raise ConfigError(f"option order quantity {self.qty!r} must be a positive whole number")
        if self.credit is not None and self.debit is not None:
            raise ConfigError("an option order has a net credit limit or a debit limit, not both")
        for name in ("credit", "debit"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ConfigError(f"option order {name} limit {value} must be >= 0")
        if self.tif not in ("day", "gtc"):
            raise ConfigError(f"option order time in force {self.tif!r} must be day or gtc")

    @property
    def alive(self) -> bool:
        return self.status == "submitted"

    @property
    def kind(self) -> str:
        return "market" if self.credit is None and self.debit is None else "limit"

    def accepts(self, net: float) -> bool:
        """Whether a fill at `net` per unit (debit > 0) honours the limit."""
        if self.credit is not None:
            return -net >= self.credit - 1e-9
        if self.debit is not None:
            return net <= self.debit + 1e-9
        return True

    def describe_legs(self) -> str:
        return " ".join(f"{leg.ratio:+d}x{leg.contract.symbol}" for leg in self.legs)


def legs_of(pairs: Sequence[tuple[OptionContract, int]]) -> tuple[Leg, ...]:
    return tuple(Leg(contract, ratio) for contract, ratio in pairs)


@dataclass(frozen=True, slots=True)
class OptionFill:
    """One leg's fill or lifecycle event. Amounts in cash: `cash` is what the account received
    (negative: paid), costs broken down (spread paid against the mid, slippage, commission,
    regulatory fees)."""

    time: dt.datetime
    kind: EventKind
    order: int  # 0 for lifecycle events
    group: int
    leg: int
    contract: OptionContract
    qty: int  # signed contracts: + bought (or long exercised), - sold (or short assigned)
    price: float  # per unit of the underlying
    mid: float
    cash: float
    spread_cost: float
    slippage_cost: float
    commission: float
    fees: float
    shares: float = 0.0  # shares delivered (+ received, - delivered away)
    underlying_price: float = 0.0

    def row(self) -> dict[str, object]:
        c = self.contract
        return {
            "datetime": self.time,
            "kind": self.kind,
            "order": self.order,
            "group": self.group,
            "leg": self.leg,
            "symbol": c.symbol,
            "underlying": c.underlying,
            "expiry": c.expiry,
            "strike": c.strike,
            "right": c.right,
            "qty": self.qty,
            "price": self.price,
            "mid": self.mid,
            "cash": round(self.cash, 6),
            "spread_cost": round(self.spread_cost, 6),
            "slippage_cost": round(self.slippage_cost, 6),
            "commission": round(self.commission, 6),
            "fees": round(self.fees, 6),
            "shares": self.shares,
            "underlying_price": self.underlying_price,
        }


@dataclass(frozen=True)
class AccountFee:
    """A fee the account was charged naming no order: Alpaca's regulatory fee of one type
    (`ORF`, `OCC`, `TAF`) for one day's option fills, the day's total rounded up to the cent,
    charged after the close. `id` is the venue's activity id (booked once by it)."""

    time: dt.datetime  # the close of the day charged
    day: dt.date
    name: str
    amount: float  # > 0: what the account paid
    id: str

    def row(self) -> dict[str, object]:
        """Its `options_fills.csv` row: kind `fee`, the fee's name as the symbol, no leg."""
        return {"datetime": self.time, "kind": "fee", "order": 0, "group": 0, "leg": 0,
                "symbol": self.name, "qty": 0, "price": 0.0, "mid": 0.0,
                "cash": round(-self.amount, 6), "spread_cost": 0.0, "slippage_cost": 0.0,
                "commission": 0.0, "fees": round(self.amount, 6), "shares": 0.0}  # fmt: skip

    def payload(self) -> dict[str, object]:
        return {"time": self.time.isoformat(), "day": self.day.isoformat(), "name": self.name,
                "amount": self.amount, "id": self.id}  # fmt: skip

    @classmethod
    def of(cls, payload: dict[str, object]) -> AccountFee:
        return cls(dt.datetime.fromisoformat(str(payload["time"])),
                   dt.date.fromisoformat(str(payload["day"])), str(payload["name"]),
                   float(payload["amount"]), str(payload["id"]))  # type: ignore[arg-type]  # fmt: skip
