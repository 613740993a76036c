"""The shared feature pipeline: spec, serialisation, definitions, normalisation."""

from __future__ import annotations

import array
import math

import numpy as np
import pandas as pd
import pytest

from parity.errors import ConfigError
from parity.models.features import (
    GROUPS,
    FeatureSpec,
    Normaliser,
    compute_features,
    feature_matrix,
)


def bars(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * 1.005
    low = np.minimum(open_, close) * 0.995
    volume = rng.integers(1_000, 10_000, n).astype(float)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.date_range("2020-01-01", periods=n, freq="D"),
    )


def test_reference_spec_has_29_named_features() -> None:
    spec = FeatureSpec()
    assert spec.window == 20 and spec.size == 29
    assert spec.names[:19] == tuple(f"ret_{i}" for i in range(1, 20))
    assert spec.names[19:] == (
        "volume",
        "rsi",
        "macd",
        "macd_signal",
        "macd_hist",
        "bb_pos",
        "bb_width",
        "atr",
        "trend_gap",
        "trend_slope",
    )


def test_spec_json_round_trip_and_canonical_order() -> None:
    spec = FeatureSpec(window=10, features=("trend", "returns", "rsi"), rsi_period=7)
    assert spec.features == ("returns", "rsi", "trend")
    assert spec.size == 9 + 1 + 2
    again = FeatureSpec.from_json(spec.to_json())
    assert again == spec
    assert FeatureSpec.from_dict({"features": "rsi,returns", "window": 10}).features == (
        "returns",
        "rsi",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"features": ("returns", "nope")}, "distinct names"),
        ({"features": ()}, "distinct names"),
        ({"window": 1}, "window=1"),
        ({"macd_fast": 30}, "macd_fast"),
        ({"history": 30}, "at least 50"),
        ({"bb_k": -1.0}, "bb_k"),
    ],
)
def test_spec_rejects_bad_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FeatureSpec(**values)  # type: ignore[arg-type]


def test_from_dict_rejects_unknown_keys_and_bad_json() -> None:
    with pytest.raises(ConfigError, match="unknown key colour"):
        FeatureSpec.from_dict({"colour": 1})
    with pytest.raises(ConfigError, match="not valid JSON"):
        FeatureSpec.from_json("{")


def test_definitions_on_hand_checkable_values() -> None:
    spec = FeatureSpec(
        window=3,
        features=("returns", "volume", "bollinger", "trend"),
        bb_period=4,
        trend_period=4,
        history=5,
    )
    close = [10.0, 10.0, 10.0, 11.0, 12.1]
    volume = [1.0, 1.0, 1.0, 2.0, 5.0]
    out = compute_features(spec, close, close, close, close, volume)
    assert out[0] == pytest.approx(0.1) and out[1] == pytest.approx(0.1)
    assert out[2] == pytest.approx(math.log(6.0 / (8.0 / 3.0 + 1.0)))
    tail = np.array(close[-4:])
    mean, std = tail.mean(), tail.std()
    assert out[3] == pytest.approx((12.1 - mean) / (2 * std))
    assert out[4] == pytest.approx(4 * std / mean)
    assert out[5] == pytest.approx(12.1 / mean - 1)
    slope = np.polyfit(np.arange(4), np.log(tail), 1)[0]
    assert out[6] == pytest.approx(slope * 4)


def test_rsi_macd_atr_edge_values() -> None:
    spec = FeatureSpec(features=("rsi", "macd", "atr"))
    flat = [100.0] * spec.history
    assert np.array_equal(compute_features(spec, flat, flat, flat, flat, flat), np.zeros(5))
    rising = [100.0 + i for i in range(spec.history)]
    out = compute_features(spec, rising, rising, rising, rising, rising)
    assert out[0] == 1.0  # no losses: RSI 100 -> +1
    assert out[1] > 0 and out[4] == pytest.approx(1.0 / rising[-1])


def test_same_numbers_in_any_container_give_identical_vectors() -> None:
    frame = bars(200)
    spec = FeatureSpec()
    n = spec.history
    cols = [frame[c].to_numpy()[-n:] for c in ("open", "high", "low", "close", "volume")]
    a = compute_features(spec, *cols)
    b = compute_features(spec, *[array.array("d", c.tolist()) for c in cols])
    c = compute_features(spec, *[c.tolist() for c in cols])
    d = compute_features(spec, *[np.ascontiguousarray(c[::-1])[::-1] for c in cols])
    assert a.dtype == np.float64 and a.shape == (29,)
    assert np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(a, d)
    assert np.isfinite(a).all()


def test_wrong_number_of_bars_is_an_error() -> None:
    spec = FeatureSpec()
    short = [1.0] * (spec.history - 1)
    with pytest.raises(ValueError, match="needs exactly 64"):
        compute_features(spec, short, short, short, short, short)


def test_feature_matrix_rows_are_the_per_bar_function() -> None:
    frame = bars(100)
    spec = FeatureSpec()
    matrix = feature_matrix(spec, frame)
    assert matrix.shape == (100 - spec.history + 1, 29)
    last = compute_features(
        spec,
        *(frame[c].to_numpy()[-spec.history :] for c in ("open", "high", "low", "close", "volume")),
    )
    assert np.array_equal(matrix[-1], last)
    with pytest.raises(ConfigError, match="too few"):
        feature_matrix(spec, frame.iloc[:10])


def test_normaliser_fit_apply_round_trip() -> None:
    matrix = feature_matrix(FeatureSpec(), bars(300))
    matrix[:, 0] = 5.0  # a constant column keeps std 1
    norm = Normaliser.fit(matrix)
    assert norm.std[0] == 1.0
    out = norm.apply(matrix)
    assert out.dtype == np.float32 and out.shape == matrix.shape
    assert np.abs(out[:, 1:].mean(axis=0)).max() < 1e-5
    assert Normaliser.from_dict(norm.to_dict()) == norm
    assert np.array_equal(norm.apply(matrix[7]), out[7])
    with pytest.raises(ValueError, match="equal length"):
        Normaliser.from_dict({"mean": [0.0], "std": [1.0, 1.0]})
    with pytest.raises(ValueError, match="positive"):
        Normaliser.from_dict({"mean": [0.0], "std": [0.0]})


def test_groups_are_all_known() -> None:
    assert FeatureSpec(features=GROUPS).features == GROUPS
