"""Reading a price panel: each distinct asset id and date handled once, the same result as every
cell on its own (finlite.data.market.read_prices), and the content hash only where it is used."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.data.io import frame_sha256, read_table
from finlite.data.market import MarketPreprocessor, MarketSpec, parse_price_dates, prepare_series, read_prices
from finlite.errors import DataError

#: Ids as a file or a DataFrame may hold them: spellings of one id, numbers that are equal to
#: Python but written apart, blanks and missing values.
_IDS: list[Any] = ["A", "A ", " A", "a", "B", "10", "9", "010", "é", "", " ", 1, 1.0, True, None, np.nan]
_ROWS = 60  # per asset, each of its (up to) two spellings more than one forecast's warm-up (26 rows)
_SPEC = MarketSpec(id_column="id", window=5)


def _panel(spellings: list[list[Any]], seed: int) -> pd.DataFrame:
    """One block of dates per asset (disjoint, so no two rows ever share an id and a date), its
    rows written with its spellings in turn, every row shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, written in enumerate(spellings):
        dates = pd.bdate_range("2015-01-05", periods=_ROWS * len(spellings))[k * _ROWS:(k + 1) * _ROWS]
        parts.append(pd.DataFrame({"date": dates, "close": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, _ROWS))),
                                   "id": pd.Series([written[i % len(written)] for i in range(_ROWS)], dtype=object)}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_IDS), min_size=1, max_size=2), min_size=1, max_size=4),
       st.integers(0, 2**16))
def test_ids_read_as_every_cell_alone(spellings: list[list[Any]], seed: int) -> None:
    """The expectation is computed cell by cell, as the reader did before it handled each distinct
    id once: every cell as text, spaces trimmed; a blank refused at its row, an id written two
    ways refused, and otherwise rows in (id as text, date) order."""
    frame = _panel(spellings, seed)
    text = frame["id"].astype("string").str.strip()
    blank = np.flatnonzero(text.isna().to_numpy() | (text == "").fillna(True).to_numpy())
    written = pd.DataFrame({"raw": frame["id"].astype("string"), "id": text}).drop_duplicates("raw")
    if len(blank):
        with pytest.raises(DataError, match=rf"Asset id column 'id' of DataFrame is empty at row {blank[0] + 1};"):
            read_prices(frame, _SPEC)
        return
    if written["id"].duplicated().any():
        with pytest.raises(DataError, match=r"Asset id '.*' in column 'id' of DataFrame is written '.*' at row \d+ "
                                            r"and '.*' at row \d+; surrounding spaces are no part of an id"):
            read_prices(frame, _SPEC)
        return
    table = read_prices(frame, _SPEC)
    expected = frame.assign(id=text.to_numpy(dtype=object)).sort_values(["id", "date"], kind="stable")
    assert table.frame["id"].tolist() == expected["id"].tolist()
    np.testing.assert_array_equal(table.frame["date"].to_numpy(), expected["date"].to_numpy())
    np.testing.assert_array_equal(table.frame["close"].to_numpy(), expected["close"].to_numpy())


def test_equal_numbers_written_apart_stay_apart_assets() -> None:
    """1, 1.0 and True are one key to Python (a dict, pandas' factorize): read as they are written,
    they are three assets, and the note on ids written alike names them."""
    table = read_prices(_panel([[1], [1.0], [True]], seed=0), _SPEC)
    assert sorted(set(table.frame["id"])) == ["1", "1.0", "True"]
    assert any("'1' and '1.0'" in note for note in table.notes)


def test_a_missing_typed_date_is_named_at_its_row() -> None:
    """A column of datetime.date objects (a Parquet date32) is read a distinct date at a time; a
    missing one is still named at its row, and a date beside text goes the text route."""
    days = [datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(60)]
    frame = pd.DataFrame({"date": pd.Series(days, dtype=object), "close": np.linspace(100, 110, 60)})
    read = read_prices(frame, MarketSpec(window=5))
    np.testing.assert_array_equal(read.frame["date"].to_numpy().astype("datetime64[D]"),
                                  np.array(days, dtype="datetime64[D]"))
    gap = frame.copy()
    gap.loc[17, "date"] = None
    with pytest.raises(DataError, match=r"Date column 'date' of DataFrame has a missing date at row 18;"):
        read_prices(gap, MarketSpec(window=5))
    text = frame.copy()
    text.loc[3, "date"] = "2020-01-04"  # the same day, written as text
    np.testing.assert_array_equal(read_prices(text, MarketSpec(window=5)).frame["date"].to_numpy(),
                                  read.frame["date"].to_numpy())


def test_the_content_hash_is_made_only_where_it_is_used(tmp_path: Any) -> None:
    """Training records the hash of its data; a forecast never reads it, so scoring skips it."""
    frame = _panel([["AAA"], ["BBB"]], seed=1)
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path)
    hashed = read_prices(path, _SPEC)
    assert hashed.content_sha256 == frame_sha256(read_table(path, text_columns=["id"]).frame)
    bare = read_prices(path, _SPEC, content_hash=False)
    assert bare.content_sha256 is None
    pd.testing.assert_frame_equal(bare.frame, hashed.frame)
    series = prepare_series(path, _SPEC)
    assert series.summary()["content_sha256"] == hashed.content_sha256
    assert series.preprocessor.table(frame).content_sha256 == frame_sha256(frame)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, 1e300, -1e300, 3.5e38, 1e-320])),
                         min_size=3, max_size=3), min_size=1, max_size=40))
def test_float32_scaling_a_block_at_a_time_is_the_scaling(rows: list[list[float]]) -> None:
    """The inputs are scaled a block of rows at a time into float32: bit for bit what scaling
    every row in float64 and casting gives, inf beyond float32 and NaN kept (both refused later)."""
    pre = _fitted()
    features = np.tile(np.asarray(rows, dtype=np.float64), (1, len(pre.feature_names) // 3 + 1))
    features = features[:, :len(pre.feature_names)]
    with np.errstate(over="ignore", invalid="ignore"):
        expected = pre.scale(features).astype(np.float32)
    got = pre._scale_float32(features)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_float32_scaling_across_blocks() -> None:
    """Rows in several blocks (65,536 a block) land where they belong."""
    pre = _fitted()
    rng = np.random.default_rng(3)
    features = rng.normal(0, 1e3, (150_000, len(pre.feature_names)))
    features[rng.integers(0, 150_000, 50), 0] = 1e300
    features[rng.integers(0, 150_000, 50), 1] = np.nan
    with np.errstate(over="ignore", invalid="ignore"):
        expected = pre.scale(features).astype(np.float32)
    np.testing.assert_array_equal(pre._scale_float32(features), expected)


def _fitted() -> MarketPreprocessor:
    frame = pd.DataFrame({"date": pd.bdate_range("2015-01-05", periods=120), "close": np.linspace(100, 130, 120)})
    return prepare_series(frame, MarketSpec(window=5)).preprocessor


def test_an_id_holding_a_nul_is_refused_at_its_row() -> None:
    """numpy text ends at a NUL: "A\\x00" was forecast under "A", beside asset "A" (a review)."""
    frame = _panel([["A"], ["A\x00"]], seed=2)
    first = next(row for row, written in enumerate(frame["id"]) if written == "A\x00")
    with pytest.raises(DataError, match=rf"Asset id 'A\\x00' in column 'id' of DataFrame at row {first + 1} holds a "
                                        r"NUL character \(\\x00\), which no id may hold; remove it\."):
        read_prices(frame, _SPEC)


_POOL_DAYS = [datetime.date(1999, 1, 4) + datetime.timedelta(days=37 * k) for k in range(12)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_POOL_DAYS) - 1), st.sampled_from(["iso", "iso ", " iso", "time"])),
                min_size=1, max_size=30),
       st.sampled_from([None, "", "  ", "yesterday", "2020-13-45", "5/6/2020"]), st.integers(0, 40))
def test_text_dates_read_as_every_row_alone(picks: list[tuple[int, str]], odd: str | None, at: int) -> None:
    """Dates written as text, each distinct one parsed once: the day each row's own text names
    (numpy's parse of its YYYY-MM-DD), or the refusal naming the first row at fault."""
    texts: list[str | None] = []
    for k, form in picks:
        day = _POOL_DAYS[k].isoformat()
        texts.append({"iso": day, "iso ": day + " ", " iso": " " + day, "time": day + " 10:30"}[form])
    expected = np.array([t.strip()[:10] for t in texts if t is not None], dtype="datetime64[D]")
    frame = pd.DataFrame({"date": pd.Series(texts, dtype=object), "close": np.linspace(100, 120, len(texts))})
    np.testing.assert_array_equal(parse_price_dates(frame["date"], "date", "DataFrame")[0], expected)
    row = min(at, len(texts))
    texts.insert(row, odd)
    frame = pd.DataFrame({"date": pd.Series(texts, dtype=object)})
    if odd is None or not odd.strip():
        message = rf"has a missing date at row {row + 1};"
    elif odd == "2020-13-45":
        message = rf"holds '2020-13-45' at row {row + 1}, which is not a valid date"
    elif odd == "5/6/2020":  # one slash date among ISO dates: the odd one out is the slash date
        message = r"holds '5/6/2020' at row " + str(row + 1) if len(texts) > 2 else r"holds '.*' at row \d+"
    else:
        message = rf"holds 'yesterday' at row {row + 1}, which is not a date finlite reads"
    with pytest.raises(DataError, match=message):
        parse_price_dates(frame["date"], "date", "DataFrame")


def test_slash_dates_read_once_each_keep_the_columns_order() -> None:
    """Slash dates: the whole column still decides the order (a day above 12 anywhere), and a
    column of days that never show it is refused as ambiguous, naming its first row."""
    us = [f"{d.month}/{d.day}/{d.year}" for d in _POOL_DAYS] * 3
    got, order = parse_price_dates(pd.Series(us, dtype=object), "date", "DataFrame")
    assert order == "mdy"
    np.testing.assert_array_equal(got, np.array(_POOL_DAYS * 3, dtype="datetime64[D]"))
    with pytest.raises(DataError, match=r"is ambiguous: every date \(e.g. '1/2/2020' at row 1\)"):
        parse_price_dates(pd.Series(["1/2/2020", "3/4/2020", "1/2/2020"], dtype=object), "date", "DataFrame")
    with pytest.raises(DataError, match=r"mixes day/month/year \('13/1/2020' at row 3\) and month/day/year "
                                        r"\('1/14/2020'\)"):
        parse_price_dates(pd.Series(["1/14/2020", "1/14/2020", "13/1/2020"], dtype=object), "date", "DataFrame")


def test_gaps_every_asset_shares_are_one_note() -> None:
    """A day missing from the whole file is one note naming how many assets share it; an asset's
    own gap keeps its own note (300 copies of one note buried an unadjusted split: a review)."""
    from tests.conftest import make_prices

    parts = [make_prices(120, seed=k).assign(id=f"S{k}") for k in range(7)]
    panel = pd.concat(parts, ignore_index=True)
    panel = panel[~panel["date"].isin(["2020-03-02", "2020-03-03", "2020-03-04"])]
    panel = panel[~((panel["id"] == "S2") & (panel["date"] == "2020-04-01"))]
    notes = [n for n in read_prices(panel, MarketSpec(id_column="id", volume_column="volume")).notes
             if "business day(s) missing" in n]
    assert notes[0].startswith("6 assets ('S0', 'S1', 'S3', 'S4', 'S5', ...), the same gaps: 3 business day(s) "
                               "missing in 1 gap(s)")
    assert notes[1].startswith("asset 'S2': 4 business day(s) missing in 2 gap(s)")
    assert len(notes) == 2


def test_assets_whose_gaps_differ_past_the_fifth_keep_their_own_notes() -> None:
    """The note shows the first five gaps: two assets alike there but not after are not "the same
    gaps" (a review)."""
    from tests.conftest import make_prices

    prices = make_prices(300)
    first = list(range(20, 95, 15))
    x = prices.drop(index=[*first, 200]).assign(id="X")
    y = prices.drop(index=[*first, 250]).assign(id="Y")
    notes = [n for n in read_prices(pd.concat([x, y]), MarketSpec(id_column="id", volume_column="volume")).notes
             if "business day(s) missing" in n]
    assert [n[:11] for n in notes] == ["asset 'X': ", "asset 'Y': "]
