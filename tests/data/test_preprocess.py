"""Encoding at bank scale: high-cardinality categories within a budget (one-hot with an other
bucket, weight of evidence / target encoding fitted out of fold), money and date text, the
width and memory estimate, float32 end to end, and the runtime encoder equal to training."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from finlite import _limits
from finlite.cli import app
from finlite.data import Schema, SplitConfig, infer_schema, make_split, prepare
from finlite.data.preprocess import OTHER, Encoding, Preprocessor
from finlite.errors import ConfigError, DataError
from finlite.evaluate.metrics import auc
from finlite.runtime import Encoder

runner = CliRunner()


def _noise_table(n: int = 6000, values: int = 1500, seed: int = 3) -> pd.DataFrame:
    """A label with a 20 % rate and a high-cardinality column independent of it, plus one real signal."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.6 + 0.8 * signal)))).astype(int)
    return pd.DataFrame({"signal": signal, "merchant": [f"m{v}" for v in rng.integers(0, values, n)], "y": y})


# -- out of fold: no leak -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["woe", "target"])
def test_out_of_fold_encoding_gives_pure_noise_no_signal(kind: str) -> None:
    frame = _noise_table()
    schema = Schema(target="y", positive="1", negative="0", numeric=("signal",), categorical=("merchant",))
    pre = Preprocessor(schema, Encoding(high_cardinality=kind, min_category_count=1, smoothing=1.0)).fit(frame)
    assert pre.feature_names == ["signal", f"merchant__{kind}"]
    y = frame["y"].to_numpy()
    oof = pre.transform_out_of_fold(frame)[:, 1]
    in_sample = pre.transform(frame)[:, 1]
    # The same mapping applied to the rows it was fitted on reads their own labels back: a leak
    # the test can see, so the out-of-fold check below could fail.
    assert auc(y, in_sample) > 0.65
    assert abs(auc(y, oof) - 0.5) < 0.04
    # The real signal is untouched by the encoding.
    assert auc(y, pre.transform_out_of_fold(frame)[:, 0]) > 0.65


def test_prepare_encodes_training_rows_out_of_fold_and_reproducibly(tmp_path: Path) -> None:
    frame = _noise_table(4000, 120)
    data = prepare(frame, target="y", categorical=["merchant"], split=SplitConfig(seed=5))
    pre = data.preprocessor
    assert pre.encoding.seed == 5 and pre.encoding.high_cardinality == "woe"  # the split's seed by default
    col = pre.feature_names.index("merchant__woe")
    assert np.count_nonzero(data.x_val[:, col]) > 0.9 * len(data.x_val)  # values have their own number
    assert any("'merchant'" in note and "out of fold" in note for note in data.schema.notes)
    assert abs(auc(data.y_train, data.x_train[:, col]) - 0.5) < 0.05  # training rows: out of fold
    train_rows = data.frame.iloc[data.split.train]
    assert not np.array_equal(data.x_train, pre.transform(train_rows))
    np.testing.assert_array_equal(data.x_val, pre.transform(data.frame.iloc[data.split.validation]))
    # compress re-prepares the table with the saved preprocessor: the same training encoding.
    pre.save(tmp_path / "preprocessor.json")
    again = prepare(frame, schema=data.schema, split=SplitConfig(seed=5), encoding=Encoding(folds=9),
                    preprocessor=Preprocessor.load(tmp_path / "preprocessor.json"))
    np.testing.assert_array_equal(again.x_train, data.x_train)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert data.x_train.dtype == np.float32


# -- budgeted one-hot, the column layout ---------------------------------------------------------
def test_one_hot_budget_other_and_unseen_buckets() -> None:
    frame = pd.DataFrame({"state": ["CA"] * 30 + ["NY"] * 25 + ["TX"] * 4 + ["VT"] * 1,
                          "amount": np.arange(60.0), "y": [0, 1] * 30})
    pre = Preprocessor(infer_schema(frame, "y"), Encoding(min_category_count=5)).fit(frame)
    names = pre.feature_names
    assert names == ["amount", "state=CA", "state=NY", f"state={OTHER}", "state=__unseen__"]
    x = pre.transform(pd.DataFrame({"state": ["CA", "TX", "VT", "ZZ"], "amount": [1.0] * 4}))
    np.testing.assert_array_equal(x[:, 1:], [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    assert pre.column_groups() == (1, [[1, 2, 3, 4]])
    # Capped: only the most frequent value of a column with more distinct values than the budget.
    capped = Preprocessor(infer_schema(frame, "y"), Encoding(max_categories=1, high_cardinality="onehot")).fit(frame)
    assert capped.feature_names[1:] == ["state=CA", f"state={OTHER}", "state=__unseen__"]


def test_training_refuses_more_category_values_than_an_artifact_may_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every training value is written to preprocessor.json; a reader accepts _spec.MAX_VALUES in all,
    # so a preprocessor beyond it would train for hours and then never load.
    from finlite import _spec

    frame = pd.DataFrame({"state": [f"s{i % 6}" for i in range(60)], "city": [f"c{i % 9}" for i in range(60)],
                          "amount": np.arange(60.0), "y": [0, 1] * 30})
    schema = infer_schema(frame, "y", categorical=["state", "city"])
    monkeypatch.setattr(_spec, "MAX_VALUES", 14)  # each column fits alone (6, 9); together (15) they do not
    with pytest.raises(DataError, match=r"hold 15 distinct values, more than the 14 an artifact may list \(largest: "
                                        r"'city' with 9, 'state' with 6\).*drop it \(--drop COLUMN\)"):
        Preprocessor(schema, Encoding(min_category_count=1)).fit(frame)
    monkeypatch.setattr(_spec, "MAX_VALUES", 15)
    Preprocessor(schema, Encoding(min_category_count=1)).fit(frame)


def test_layout_puts_valued_columns_between_indicators_and_one_hot_groups() -> None:
    frame = _noise_table(600, 100).assign(grade=np.where(np.arange(600) % 3 == 0, "A", "B"))
    frame.loc[::7, "signal"] = np.nan
    schema = infer_schema(frame, "y", categorical=["merchant"])
    pre = Preprocessor(schema).fit(frame)
    assert pre.feature_names == ["signal", "signal__is_missing", "merchant__woe", "grade=B", "grade=A",
                                 "grade=__unseen__"]
    assert pre.column_groups() == (1, [[3, 4, 5]])


# -- the runtime encoder equals training -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["woe", "target", "onehot"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-fill", "numpy-fill"])
def test_runtime_encoder_equals_training_for_new_encodings(kind: str, compiled: bool, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    # Batch encoding writes its blocks with the compiled kernel once there is one, else numpy.
    request.getfixturevalue("compiled_fill" if compiled else "numpy_fill")
    frame = _noise_table(3000, 400)
    frame["loan"] = [f"${v:,.2f} " for v in np.random.default_rng(1).uniform(0, 2e6, len(frame))]
    frame.loc[5, "loan"] = "(1,234.50)"
    frame.loc[9, "merchant"] = None
    schema = infer_schema(frame, "y", categorical=["merchant"])
    assert schema.money == ("loan",)
    pre = Preprocessor(schema, Encoding(high_cardinality=kind, min_category_count=3)).fit(frame)
    pre.save(tmp_path / "preprocessor.json")
    encoder = Encoder(json.loads((tmp_path / "preprocessor.json").read_text()))
    score = frame.head(200).copy()
    score.loc[score.index[:3], "merchant"] = ["never-seen", None, " m7 "]
    score.loc[score.index[3], "loan"] = "-$12.00"
    expected = pre.transform(score)
    features = list(schema.features)
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in score[features].to_dict("records")]
    got, unseen = encoder.encode_records(records)
    np.testing.assert_array_equal(got, expected)
    assert unseen[0] == ["merchant"] and unseen[2] == []
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(score[features], preserve_index=False)),
                                  expected)
    dictionary = pa.table({c: (pa.array(score[c]).dictionary_encode() if c == "merchant" else pa.array(score[c]))
                           for c in features})
    np.testing.assert_array_equal(encoder.encode_arrow(dictionary), expected)
    loan = pre.feature_names.index("loan")
    spec = pre.numeric_[[s.name for s in pre.numeric_].index("loan")]
    assert expected[3, loan] == np.float32((-12.0 - spec.mean) / spec.std)


@pytest.mark.parametrize("column", [pa.array([["a"], ["b"]]), pa.array([{"k": 1}, {"k": 2}]),
                                    pa.DictionaryArray.from_arrays(pa.array([0, 1]), pa.array([["a"], ["b"]]))])
def test_arrow_nested_category_column_is_a_data_error_naming_it(column: pa.Array) -> None:
    """A list or struct column (Parquet allows them) where a category belongs is refused by name,
    as the record path refuses a list or object, not with Arrow's own kernel error."""
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"], "y": [0, 1, 0, 1]})
    encoder = Encoder(Preprocessor(schema, Encoding(min_category_count=1)).fit(frame).to_dict())
    with pytest.raises(DataError, match=r"Categorical column 'c' in book.parquet has type .*Flatten the column"):
        encoder.encode_arrow(pa.table({"x": [1.0, 2.0], "c": column}), source="book.parquet")


@pytest.mark.parametrize("values", [pd.period_range("2024-01", periods=4, freq="M"),
                                    pd.to_timedelta([1, 2, 1, 2], unit="D"),
                                    pd.date_range("2024-01-01", periods=4, freq="D")])
def test_a_category_of_periods_durations_or_days_encodes_its_own_training_frame(values: object) -> None:
    # The date-typed refusal read a period ('2024-04') or a duration ('1 days') as a date no key
    # matched, and refused the frame the encoder was fitted on (a review, 2026-12-04).
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": values, "y": [0, 1, 0, 1]})
    pre = Preprocessor(schema, Encoding(min_category_count=1)).fit(frame)
    assert pre.transform(frame).shape == (4, pre.n_features)


@pytest.mark.parametrize("days", [10, 100])
def test_a_day_written_as_its_midnight_encodes_as_the_day_on_every_path(days: int) -> None:
    # The Arrow path looked up aliases for numbers and booleans only in dictionaries of more than
    # 64 values: a day written '2024-01-01 00:00:00' (or 'T00:00:00') scored as unseen there, and
    # as its day on the other paths (a review, 2026-12-04).
    from finlite._keys import key_aliases

    assert key_aliases("2024-01-01T00:00:00", ()) == ["2024-01-01", "2024-01-01 00:00:00"]
    assert key_aliases("2024-01-01", ()) == ["2024-01-01 00:00:00", "2024-01-01T00:00:00"]
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    frame = pd.DataFrame({"x": np.arange(3.0 * days), "c": [d.strftime("%Y-%m-%d") for d in stamps] * 3,
                          "y": [0, 1, 1] * days})
    pre = Preprocessor(schema, Encoding(min_category_count=1, max_categories=1000, high_cardinality="onehot")).fit(frame)
    encoder = Encoder(pre.to_dict())
    want = pre.transform(frame)
    for spelling in (" 00:00:00", "T00:00:00"):
        written = [f"{c}{spelling}" for c in frame["c"]]
        np.testing.assert_array_equal(encoder.encode_arrow(pa.table({"x": frame["x"], "c": written})), want)
        np.testing.assert_array_equal(pre.transform(frame.assign(c=written)), want)


def test_tampered_encoding_values_are_refused(tmp_path: Path) -> None:
    frame = _noise_table(600, 100)
    spec = Preprocessor(infer_schema(frame, "y", categorical=["merchant"])).fit(frame).to_dict()
    spec["categorical"][0]["values"][0] = 1e39
    with pytest.raises(DataError, match=r"categorical field 'merchant' has the woe value 1e\+39, not a finite"):
        Encoder(spec)
    spec["categorical"][0]["encoding"] = "magic"
    with pytest.raises(DataError, match=r"'merchant' has encoding 'magic'"):
        Preprocessor.from_dict(spec)


def test_a_spec_with_many_fields_is_checked_in_one_pass_and_repeats_are_named() -> None:
    """The repeated-name check counts in one pass: 200,000 fields (a forged file) are checked at once
    (quadratic counting took hours), and a repeated name is still refused by name."""
    from finlite._spec import check_preprocessor_spec

    names = [f"x{i}" for i in range(200_000)]
    spec = {"format": "finlite.preprocessor/1", "schema": {"numeric": names, "categorical": []},
            "numeric": [{"name": n, "median": 0.0, "mean": 0.0, "std": 1.0, "indicator": False} for n in names],
            "categorical": []}
    check_preprocessor_spec(spec)
    spec["numeric"][-1]["name"] = spec["schema"]["numeric"][-1] = "x7"
    with pytest.raises(DataError, match=r"field name\(s\) 'x7' appear more than once"):
        check_preprocessor_spec(spec)


def test_one_hot_field_with_stray_values_encodes_as_one_hot_in_both_encoders() -> None:
    """The runtime encoder reads a field by its declared encoding, as the pandas Preprocessor does:
    a stray 'values' key on a one-hot field neither crashes it nor changes its width."""
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"], "y": [0, 1, 0, 1]})
    pre = Preprocessor(schema, Encoding(min_category_count=1)).fit(frame)
    spec = pre.to_dict()
    spec["categorical"][0].update(values=[0.5], default=0.0)  # one number for two categories
    encoder = Encoder(spec)
    assert encoder.n_features == Preprocessor.from_dict(spec).n_features == pre.n_features
    np.testing.assert_array_equal(encoder.encode_records(frame[["x", "c"]].to_dict("records"))[0],
                                  pre.transform(frame))


def test_old_format_preprocessor_still_loads() -> None:
    v1 = {"format": "finlite.preprocessor/1",
          "schema": {"target": "y", "positive": "1", "negative": "0", "numeric": ["x"], "categorical": ["c"],
                     "drop": [], "date_column": None, "task": "binary", "notes": []},
          "numeric": [{"name": "x", "median": 1.0, "mean": 2.0, "std": 4.0, "indicator": True}],
          "categorical": [{"name": "c", "categories": ["a", "b"]}],
          "feature_names": ["x", "x__is_missing", "c=a", "c=b", "c=__unseen__"]}
    pre = Preprocessor.from_dict(v1)
    frame = pd.DataFrame({"x": [6.0, None, 2.0], "c": ["b", "a", "zz"]})
    expected = np.array([[1, 0, 0, 1, 0], [-0.25, 1, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(pre.transform(frame), expected)
    np.testing.assert_array_equal(Encoder(v1).encode_records(frame.replace({np.nan: None}).to_dict("records"))[0],
                                  expected)
    assert pre.to_dict()["format"] == "finlite.preprocessor/2"  # written in the new format


# -- schema inference: identifiers, money, dates, codes -----------------------------------------------
def _book(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    years = rng.integers(62, 114, n) % 100
    return pd.DataFrame({
        "LoanNr_ChkDgt": 1_000_014_003 + 10 * np.arange(n),  # a loan number: a different integer per row
        "Name": [f"BUSINESS {i // 2} LLC" for i in range(n)],  # near-unique: 50 %
        "ApprovalDate": [f"{d}-Feb-{y:02d}" for d, y in zip(rng.integers(1, 28, n), years, strict=True)],
        "Iso": pd.date_range("2001-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "Us": pd.date_range("2001-01-01", periods=n, freq="D").strftime("%m/%d/%Y"),
        "ApprovalFY": np.where(np.arange(n) == 7, "1976A", (1900 + years + (years < 62) * 100).astype(str)),
        "GrAppv": [f"${v:,.2f} " for v in rng.uniform(1e3, 1e6, n)],
        "Refund": np.where(np.arange(n) % 3 == 0, "(1,234.50)", "-$20.00"),
        "MIS_Status": np.where(rng.random(n) < 0.2, "CHGOFF", "P I F"),
    })


def test_money_dates_identifiers_and_codes_are_recognised() -> None:
    schema = infer_schema(_book(), "MIS_Status")
    assert schema.positive == "CHGOFF"
    assert set(schema.drop) == {"LoanNr_ChkDgt", "Name", "ApprovalDate", "Iso", "Us"}
    assert schema.money == ("GrAppv", "Refund") and schema.numeric == ("GrAppv", "Refund")
    assert schema.categorical == ("ApprovalFY",)
    notes = " | ".join(schema.notes)
    assert "'Name' dropped as an identifier: 1,000 distinct values in 2,000 rows" in notes
    assert "'ApprovalFY' is mostly numbers but holds text such as '1976A' in 1 rows" in notes
    assert "--numeric ApprovalFY" in notes
    assert "'LoanNr_ChkDgt' dropped as an identifier (a different whole number in each of its 2,000 rows)" in notes
    # Dates are named as dates, however many distinct values (Iso has one per row; they were noted
    # as identifiers with --categorical as the hint: a review, 2026-12-03), typed or as text.
    for name in ("ApprovalDate", "Iso", "Us"):
        assert f"column {name!r} dropped as a date (name it with --date-column" in notes, name
        assert f"{name!r} dropped as an identifier" not in notes, name
    typed = _book().assign(Iso=lambda b: pd.to_datetime(b["Iso"]))
    assert "column 'Iso' dropped as a date" in " | ".join(infer_schema(typed, "MIS_Status").notes)
    # A charge-off date is no date to split by: said so (a credit modeller's walk-through, 2026-12-06),
    # and a code column named so in camelCase gets the code note (SBA's FranchiseCode).
    later = _book().assign(ChgOffDate=_book()["Iso"], FranchiseCode=np.arange(2000) % 3)
    noted = " | ".join(infer_schema(later, "MIS_Status").notes)
    assert ("column 'ChgOffDate' dropped as a date (it is named like a date recorded after the outcome, such as a "
            "charge-off's: never order an out-of-time split by it") in noted
    assert "column 'FranchiseCode' holds whole numbers and its name says they are codes (3 values)" in noted
    # A value recorded at disbursement, after the decision (SBA's DisbursementGross: used silently,
    # an SBA walk-through, 2026-12-06), is named, without the leak's warning.
    paid = infer_schema(_book().assign(DisbursementGross=_book()["GrAppv"]), "MIS_Status").notes
    said = [n for n in paid if n.startswith("column 'DisbursementGross' is named like a value recorded after the "
                                            "credit decision")]
    assert len(said) == 1 and "--drop DisbursementGross" in said[0] and "leaks the label" not in said[0]
    chosen = infer_schema(_book().assign(disbursement_method=np.where(np.arange(2000) % 2, "Cash", "DirectPay")),
                          "MIS_Status").notes  # chosen at application (LendingClub's): no note
    assert not [n for n in chosen if "disbursement_method" in n and "after the credit decision" in n]
    from finlite.data.schema import _POST_DECISION_NAME

    assert _POST_DECISION_NAME.search("disbursement_amnt") and not _POST_DECISION_NAME.search("disbursementMethodAmount")
    pre = Preprocessor(schema).fit(_book())
    refund = pre.transform(_book())[:, 1]
    spec = pre.numeric_[1]
    assert sorted(set(np.round(refund * spec.std + spec.mean, 2))) == [-1234.5, -20.0]


def test_two_digit_years_never_land_in_the_future_in_an_out_of_time_split() -> None:
    book = _book(300)
    labels = (book["MIS_Status"] == "CHGOFF").to_numpy(dtype=np.float32)
    split = make_split(book, labels, SplitConfig(date_column="ApprovalDate"), source="sba.csv")
    dates = pd.to_datetime(book["ApprovalDate"], format="%d-%b-%y")
    years = dates.dt.year.where(dates <= pd.Timestamp.now(), dates.dt.year - 100)
    # Oldest train, newest test: the 1960s loans (which %y reads as 2062-2068) are in training.
    assert years.iloc[split.train].max() <= years.iloc[split.test].min()
    assert years.iloc[split.test].min() >= 2000 and years.min() < 1970


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009"])
def test_numbers_padded_with_a_no_break_space_are_read_as_numbers(space: str) -> None:
    """A no-break or thin space beside a number (Excel's, a European export's) left the column out
    of the model without a word, or stopped training with an IndexError on a column of few values
    (a data engineer's walk-through, 2026-12-06). Read as numbers, as the runtime reads them."""
    from finlite.runtime.encoder import Encoder

    rng = np.random.default_rng(0)
    age = rng.integers(19, 76, 1000).astype(object)
    age[7] = f"{space}{age[7]}"
    rate = rng.integers(1, 5, 1000).astype(object)
    rate[3] = f"{rate[3]}{space}"
    frame = pd.DataFrame({"age": age, "rate": rate, "y": (rng.random(1000) < 0.3).astype(int)})
    schema = infer_schema(frame, "y")
    assert set(schema.numeric) == {"age", "rate"} and schema.categorical == ()
    notes = " | ".join(schema.notes)
    assert f"column 'age' holds numbers written with spaces or signs a plain number does not have (such as " \
           f"{str(age[7])!r}): read as numbers" in notes
    pre = Preprocessor(schema).fit(frame)
    plain = frame.assign(age=frame["age"].map(lambda v: int(str(v).strip(space))),
                         rate=frame["rate"].map(lambda v: int(str(v).strip(space))))
    assert np.array_equal(pre.transform(frame), pre.transform(plain))
    encoder = Encoder(pre.to_dict())
    runtime, _ = encoder.encode_records(frame.drop(columns="y").to_dict("records"))
    assert np.allclose(runtime, pre.transform(plain), atol=1e-6)


@pytest.mark.parametrize(("form", "example"), [
    (lambda x: f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."), "1.169,00"),  # German
    (lambda x: f"{x:.2f}".replace(".", ","), "1169,00"),
    (lambda x: f"€{x:,.2f}", "€1,169.00"),
    (lambda x: f"{x:,.2f} EUR", "1,169.00 EUR"),
    (lambda x: f"{x}-" if x % 2 else str(x), "1169-"),  # SAP's trailing minus
    (lambda x: f"{x % 40},{x % 10} %", "9,9 %"),
    # The lira, the rupee (Indian grouping past a lakh), full-width yen, "$" and a no-break space, a
    # thin space between thousands: dropped as an identifier, or rounded amounts one-hot encoded,
    # without a word (an international walk-through, 2026-12-07).
    (lambda x: "₺" + f"{x:,}".replace(",", "."), "₺1.169"),
    (lambda x: f"₹{x * 100:,}", "₹116,900"),
    (lambda x: f"￥{x:,}", "￥1,169"),
    (lambda x: f"$\u00a0{x:,}", "$\u00a01,169"),
    (lambda x: f"{x:,}".replace(",", "\u2009"), "1\u2009169"),
    (lambda x: f"$ {x:,}.00", "$ 1,169.00"),  # a plain space after "$" (a review, 2026-12-07)
    (lambda x: f"INR {x:,}", "INR 1,169"),
    # "$" after the number, Deutsche Mark, amounts abbreviated: dropped as an identifier or encoded
    # as categories without a word of amounts (a file fuzz, 2026-12-07).
    (lambda x: f"{x:,}$", "1,169$"),
    (lambda x: f"{x} DM", "1169 DM"),
    (lambda x: f"${x / 1000:.1f}K", "$1.2K"),
    (lambda x: f"${x / 1000:.2f}M", "$1.17M"),
])
def test_numbers_in_a_form_finlite_does_not_read_are_refused_naming_the_fix(form: Any, example: str) -> None:
    """A German export's amounts were dropped as an identifier with "pass --categorical" as the
    advice, and "12,4 %" became a category without a word (a data engineer's walk-through,
    2026-12-06): refused, naming the column, a value and the fix; --categorical keeps it as asked."""
    amounts = [1169 + 7 * i for i in range(600)]
    frame = pd.DataFrame({"amount": [form(x) for x in amounts], "x": np.arange(600) % 7, "y": [0, 1, 1] * 200})
    with pytest.raises(DataError, match=r"^the data holds amounts written in a form finlite does not read, in "
                                        r"column\(s\) 'amount' \(such as '.+'\): a decimal comma, .*pass "
                                        r"--categorical amount; if it is not needed, --drop amount\.$") as caught:
        infer_schema(frame, "y")
    assert form(1169) == example and any(f"such as {v!r}" in str(caught.value) for v in frame["amount"])
    assert infer_schema(frame, "y", categorical=["amount"]).categorical == ("amount",)
    assert "amount" in infer_schema(frame, "y", drop=["amount"]).drop
    # Every such column is named at once (one run, not one per column).
    with pytest.raises(DataError, match=r"in column\(s\) 'amount' \(such as .*\); 'again' \(such as "):
        infer_schema(frame.assign(again=frame["amount"]), "y")
    # Codes that are not amounts, and numbers finlite reads, are untouched (a review, 2026-12-06:
    # IP addresses, versions, phone numbers, postcodes, card numbers and multi-select codes were refused).
    rng = np.random.default_rng(0)
    fine = pd.DataFrame({
        "grade": ["A1", "B2", "C3"] * 200, "amount": [f"${x:,.2f}" for x in amounts],
        "rate": [f"{x % 30}.5%" for x in amounts],
        "ip": [f"192.168.{i % 250}.{i % 7}" for i in range(600)],
        "os_version": rng.choice(["14.4.2", "15.0.1", "16.2"], 600),
        "phone": [f"+49 30 {650000 + i}" for i in range(600)],
        "postcode": rng.choice(["114 55", "120 00", "411 06"], 600),
        "card": [f"4111 {1000 + i} 2222 3333" for i in range(600)],
        "choices": rng.choice(["1,2", "2,3", "1"], 600),
        "hs_code": rng.choice(["8471.30.01", "8517.12.00"], 600),
        # Codes that look like an ISO currency beside a number (a review, 2026-12-07).
        "branch": rng.choice(["CAD1", "AED01", "SAR2"], 600), "attempt": rng.choice(["try 1", "try 2"], 600),
        "stack": rng.choice(["PHP 7.4", "PHP 8.1"], 600),
        "y": [0, 1, 1] * 200})
    schema = infer_schema(fine, "y")
    assert {"amount", "rate"} <= set(schema.numeric)
    assert {"os_version", "postcode", "choices", "hs_code"} <= set(schema.categorical)


def test_a_decimal_comma_is_never_read_as_thousands_or_as_a_category() -> None:
    """A rate written "2,875" … "5,500" (every value one comma before three digits) trained as 2875
    … 5500 with a note, and scoring the plain 5.5 then changed 248 of 1,000 decisions; "2,5"
    beside "3,75" became a category (a European modeller's walk-through, 2026-12-07). The first
    is refused naming both readings; the second, and "0,875", as a decimal comma. A value of
    another form settles the reading, and a multi-select code stays a category."""
    rng = np.random.default_rng(0)

    def frame(values: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"rate": rng.choice(values, 300), "x": rng.normal(size=300), "y": [0, 1, 1] * 100})

    ambiguous = frame(["2,875", "3,750", "4,625", "5,500"])
    message = (r"^Column 'rate' in the data writes every value with one comma before three digits \(such as "
               r"'(\d),(\d{3})'\), which reads as \1\2 with ',' between thousands, or as \1\.\2 with a decimal comma, "
               r"and no value says which\. If the commas separate thousands \(a US export's amounts\), pass --numeric "
               r"rate; if they are decimal commas, write the column with '\.' as the decimal point \(\1\.\2\); if it "
               r"is a code, pass --categorical rate\.$")
    with pytest.raises(DataError, match=message):
        infer_schema(ambiguous, "y")
    # Named numeric: thousands, as a US export writes "12,000" (a review, 2026-12-07: --numeric could not
    # override the refusal).
    named = infer_schema(ambiguous, "y", numeric=["rate"])
    assert "rate" in named.money
    assert any(n.startswith("column 'rate' writes every value with one comma before three digits (such as ") and
               "read as thousands" in n for n in named.notes)
    assert Preprocessor(named).fit(ambiguous, labels=ambiguous["y"].to_numpy(float)).transform(
        ambiguous.head(1)).shape[1] >= 1
    assert infer_schema(ambiguous, "y", categorical=["rate"]).categorical == ("rate",)
    for values in (["2,5", "3,75", "4,125", "5,5"], ["0,875", "0,5", "1,25"], ["4,1250", "3,5"],
                   ["2,875", "3,5", "5,125"]):  # "3,5" beside "2,875": a decimal comma in both
        with pytest.raises(DataError, match=r"^the data holds amounts written in a form finlite does not read, in "
                                            r"column\(s\) 'rate' \(such as '[0-9],[0-9]+'\): a decimal comma"):
            infer_schema(frame(values), "y")
    # One value of another form settles it: thousands (two groups, or a dollar sign).
    assert "rate" in infer_schema(frame(["25,000", "1,150,000", "7,500"]), "y").numeric
    assert "rate" in infer_schema(frame(["$25,000", "7,500"]), "y").numeric
    # A comma before one digit alone is a multi-select code or a decimal comma: a category, said so.
    for values in (["1,2", "2,3", "1"], ["2,5", "7,3", "4,1"]):
        schema = infer_schema(frame(values), "y")
        assert "rate" in schema.categorical
        assert any(n.startswith("column 'rate' holds numbers with a comma before one digit (such as ")
                   for n in schema.notes)


def test_money_with_junk_names_the_row_and_the_fix() -> None:
    frame = pd.DataFrame({"amt": [f"${i:,}.00" for i in range(1000, 1195)] + ["N/A"] * 5, "y": [0, 1] * 100})
    with pytest.raises(DataError, match=r"'amt' in the data holds the text 'N/A' at row 196 \(5 such rows\); "
                                        r"fix or blank those values, or read it as a category "
                                        r"\(categorical=\['amt'\]\)\.$"):
        infer_schema(frame, "y")
    # The CLI words the API's parameter as its option, once (it read "(--categorical amt,
    # --categorical amt)": a review, 2026-12-03).
    with tempfile.TemporaryDirectory() as folder:
        frame.replace("N/A", "pending").to_csv(Path(folder) / "amounts.csv", index=False)  # a CSV reads N/A as missing
        shown = runner.invoke(app, ["train", str(Path(folder) / "amounts.csv"), "--target", "y", "--out",
                                         str(Path(folder) / "out"), "--model", "logistic"])
    assert shown.exit_code == 2 and " ".join(shown.output.split()).endswith(
        "or read it as a category (--categorical amt)."), shown.output


def _lending_book(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    """A LendingClub-like book: interest rate and revolving utilisation written as percentages
    ("13.56%"), the risk rising with both."""
    rng = np.random.default_rng(seed)
    rate, util = rng.uniform(5, 25, n), rng.uniform(0, 120, n)
    bad = rng.random(n) < 1 / (1 + np.exp(-((rate - 15) / 4 + (util - 60) / 40)))
    return pd.DataFrame({"int_rate": [f"{r:.2f}%" for r in rate],
                         "revol_util": [f"{u:.1f} %" if i % 50 else "" for i, u in enumerate(util)],
                         "loan_amnt": rng.integers(1000, 35000, n),
                         "loan_status": np.where(bad, "Charged Off", "Fully Paid")})


def test_percentages_written_as_text_are_read_as_numbers(tmp_path: Path) -> None:
    """LendingClub's int_rate ("13.56%") was dropped as an identifier and revol_util encoded as 900
    categories: a model of test AUC 0.50 where the rates carry the risk (2026-12-05)."""
    book = _lending_book()
    schema = infer_schema(book, "loan_status", positive="Charged Off")
    assert schema.numeric == ("int_rate", "revol_util", "loan_amnt") and schema.categorical == ()
    assert schema.percent == ("int_rate", "revol_util") and schema.money == ()
    assert schema.number_rule("int_rate") == "percent" and schema.number_rule("loan_amnt") is False
    notes = " | ".join(schema.notes)
    assert re.search(r"column 'int_rate' read as percentages written as text \(e\.g\. '(\d+)\.(\d)(\d)%' is read as "
                     r"\1\.\2\3?\)", notes), notes
    assert Schema.from_dict(schema.to_dict()) == schema
    assert "percent" not in infer_schema(_book(), "MIS_Status").to_dict()  # files without one are as before
    pre = Preprocessor(schema).fit(book)
    assert [s.parse for s in pre.numeric_] == ["percent", "percent", "number"]
    forged = pre.to_dict()
    forged["schema"]["percent"] = ["nowhere"]
    with pytest.raises(DataError, match=r"schema's percent columns \['nowhere'\] are not among its numeric fields"):
        Preprocessor.from_dict(forged)
    spec = pre.numeric_[0]
    raw = pre.transform(book)[:, 0].astype(np.float64) * spec.std + spec.mean
    np.testing.assert_allclose(raw, book["int_rate"].str.rstrip("%").astype(float), atol=1e-4)
    # The number written, as a Parquet copy of the column holds it, is the same value.
    plain = book.assign(int_rate=book["int_rate"].str.rstrip("%").astype(float))
    np.testing.assert_array_equal(pre.transform(plain), pre.transform(book))
    # Declared numeric, the same rule is found.
    assert infer_schema(book, "loan_status", numeric=["int_rate"]).percent == ("int_rate", "revol_util")
    # The signal is there: trained on it, the model ranks the test loans far better than chance.
    book.to_csv(tmp_path / "lc.csv", index=False)
    result = runner.invoke(app, ["train", str(tmp_path / "lc.csv"), "--target", "loan_status", "--positive",
                                 "Charged Off", "--model", "logistic", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    auc_text = re.search(r"test split \([\d,]+ rows\): AUC (0\.\d+)", result.output)
    assert auc_text is not None and float(auc_text[1]) > 0.8, result.output


def test_a_percentage_column_with_junk_or_fractions_names_what_is_wrong() -> None:
    """A few junk cells among percentages are what the error names (it named a valid "22.74%" in
    every row); fractions beside percentages are refused (one "%" in 200 rows read a column of
    fractions as percentages); text that one path trims and another refuses is refused by all
    (a review, 2026-12-05)."""
    book = _lending_book(2000)
    junk = book.assign(int_rate=book["int_rate"].where(book.index % 20 != 5, "--"))
    for numeric in (None, ["int_rate"]):
        with pytest.raises(DataError, match=r"'int_rate' in the data holds the text '--' at row 6 \(100 such rows\)"):
            infer_schema(junk, "loan_status", positive="Charged Off", numeric=numeric, source="the data")
    # Few distinct values: a category, with the junk named (it named "23%" in every row).
    few = book.assign(int_rate=[f"{v}%" for v in np.arange(2000) % 20 + 5]).assign(
        int_rate=lambda b: b["int_rate"].where(b.index % 100 != 3, "n.a."))
    note = next(n for n in infer_schema(few, "loan_status", positive="Charged Off").notes if "'int_rate'" in n)
    assert "holds text such as 'n.a.' in 20 rows" in note, note
    fractions = book.assign(revol_util=[f"{v:.3f}" if i % 200 else f"{100 * v:.1f}%"
                                        for i, v in enumerate(np.linspace(0, 1, 2000))])
    for numeric in (None, ["revol_util"]):
        with pytest.raises(DataError, match=r"Column 'revol_util' in the data mixes percentages written with '%' .* "
                                            r"plain numbers between 0 and 1 such as '0\.001'.*one quantity in two units"):
            infer_schema(fractions, "loan_status", positive="Charged Off", numeric=numeric, source="the data")
    # Plain numbers in the percentages' own unit are read as they are, and zero is zero in either.
    same_unit = book.assign(revol_util=["12" if i % 50 == 1 else v for i, v in enumerate(book["revol_util"])])
    assert "revol_util" in infer_schema(same_unit, "loan_status", positive="Charged Off").percent
    zeros = book.assign(revol_util=["0" if i % 50 == 1 else "0.0" if i == 3 else v
                                    for i, v in enumerate(book["revol_util"])])
    assert "revol_util" in infer_schema(zeros, "loan_status", positive="Charged Off").percent
    one = book.assign(revol_util=["1" if i % 25 == 7 else v for i, v in enumerate(book["revol_util"])])  # 1 %
    assert "revol_util" in infer_schema(one, "loan_status", positive="Charged Off").percent
    schema = infer_schema(book, "loan_status", positive="Charged Off")
    pre = Preprocessor(schema).fit(book)
    with pytest.raises(DataError, match=re.escape("'int_rate' in the data holds the text '5%\\x85'")):
        pre.transform(book.head(3).assign(int_rate=["5%\x85", "6%", "7%"]), "the data")
    forged = pre.to_dict()
    forged["schema"]["money"] = ["int_rate"]
    with pytest.raises(DataError, match=r"lists \['int_rate'\] as both money and percent columns"):
        Preprocessor.from_dict(forged)


def test_a_percentage_column_refuses_money_and_a_money_column_percentages() -> None:
    """Neither rule reads the other's text, in the Preprocessor, the record path and the Arrow path
    alike: "$5" among rates, or "5%" among amounts, is a data error, not a number."""
    from finlite.runtime.encoder import Encoder, RecordErrors

    book = _lending_book(400).assign(fee=lambda b: [f"${v:,.2f}" for v in b["loan_amnt"] / 100])
    schema = infer_schema(book, "loan_status", positive="Charged Off")
    assert schema.money == ("fee",) and schema.percent == ("int_rate", "revol_util")
    pre = Preprocessor(schema).fit(book)
    encoder = Encoder(pre.to_dict())
    features = list(schema.features)
    for column, text in (("int_rate", "$5"), ("fee", "5%")):
        bad = book.head(3).copy()
        bad.loc[1, column] = text
        with pytest.raises(DataError, match=rf"Numeric column '{column}' in the data holds the text "
                                            rf"'{re.escape(text)}' at row 2"):
            pre.transform(bad, "the data")
        with pytest.raises(DataError, match=rf"Numeric column '{column}' in the input holds the text "
                                            rf"'{re.escape(text)}' at row 2"):
            encoder.encode_arrow(pa.Table.from_pandas(bad[features].astype({column: "string"}),
                                                      preserve_index=False))
        records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                   for r in bad[features].to_dict("records")]
        with pytest.raises(RecordErrors, match=rf"record 1, field '{column}': expected a number, got the text "
                                               rf"'{re.escape(text)}'"):
            encoder.encode_records(records)
    # A percentage column with a few junk cells names them, as money does.
    junk = book.assign(int_rate=lambda b: b["int_rate"].where(b.index % 100 != 7, "n.a."))
    with pytest.raises(DataError, match=r"'int_rate' in the data holds the text 'n\.a\.' at row 8 \(4 such rows\)"):
        infer_schema(junk, "loan_status")


# -- width and memory: refused before allocating ----------------------------------------------------
def test_width_estimate_refuses_with_exit_2_naming_the_column_and_option(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "shop": [f"s{i}" for i in rng.integers(0, 15_000, n)],
                          "y": rng.integers(0, 2, n)})
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    monkeypatch.setattr(_limits, "available_memory", lambda: 512 << 20)
    out = tmp_path / "out"
    result = runner.invoke(app, ["train", str(path), "--target", "y", "--out", str(out), "--categorical", "shop",
                                 "--high-cardinality", "onehot", "--max-categories", "100000",
                                 "--min-category-count", "1", "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = " ".join(result.output.split())
    assert "'shop' (" in message and "columns, onehot)" in message
    assert "--max-categories" in message and "--high-cardinality woe" in message and "--drop shop" in message
    assert not out.exists()


def test_bad_encoding_options_exit_2(tmp_path: Path, loans_csv: Path) -> None:
    for args, text in ((["--high-cardinality", "hash"], "--high-cardinality must be one of woe, target, onehot"),
                       (["--max-categories", "0"], "--max-categories must be a positive whole number"),
                       (["--min-category-count", "-1"], "--min-category-count must be a positive whole number")):
        result = runner.invoke(app, ["train", str(loans_csv), "--target", "defaulted", "--out", str(tmp_path / "o"),
                                     *args])
        assert result.exit_code == 2 and text in " ".join(result.output.split()), result.output
    with pytest.raises(ConfigError, match=r"'high_cardinality' parameter of Encoding must be one of woe"):
        Encoding(high_cardinality="hash")
    with pytest.raises(ConfigError, match=r"'numeric_center' parameter of Encoding must be one of mean, median"):
        Encoding(numeric_center="mode")


def test_a_median_centre_is_stored_and_read_back_and_a_default_file_is_unchanged() -> None:
    """Encoding.numeric_center="median" (an imported booster's columns): each numeric column is
    centred on its training median and scaled by its standard deviation; the setting is written
    only when it is not the default, so a default preprocessor.json is what earlier versions wrote."""
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 1e9, 4.0, 5.0], "y": [0, 1, 0, 1, 0, 1]})
    schema = infer_schema(frame, "y")
    plain = Preprocessor(schema).fit(frame)
    assert "numeric_center" not in plain.to_dict()["encoding"]
    assert plain.numeric_[0].mean == pytest.approx(frame["x"].mean())
    median = Preprocessor(schema, Encoding(numeric_center="median")).fit(frame)
    spec = median.to_dict()
    assert spec["encoding"]["numeric_center"] == "median"
    assert spec["numeric"][0]["mean"] == 3.5 and spec["numeric"][0]["std"] == pytest.approx(frame["x"].std(ddof=0))
    again = Preprocessor.from_dict(spec)
    assert again.encoding.numeric_center == "median"
    encoded = again.transform(frame)[:, 0]
    np.testing.assert_allclose(encoded, ((frame["x"] - 3.5) / frame["x"].std(ddof=0)).to_numpy(np.float32))
    spec["encoding"]["numeric_center"] = "mode"
    with pytest.raises(DataError, match="encoding numeric_center is 'mode', not mean or median"):
        Preprocessor.from_dict(spec)


# -- a 100,000-value text column trains within a memory budget ----------------------------------------
_BUDGET_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np, pandas as pd
    import finlite
    rng = np.random.default_rng(0)
    n = 150_000
    signal = rng.normal(size=n)
    frame = pd.DataFrame({
        "signal": signal,
        "merchant": [f"merchant-{v}" for v in rng.permutation(n) % 100_000],
        "y": np.where(rng.random(n) < 1 / (1 + np.exp(1.5 - signal)), "bad", "good"),
    })
    assert frame["merchant"].nunique() == 100_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = finlite.train(frame, target="y", categorical=["merchant"], model="logistic",
                            progress=False, out=sys.argv[1])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(outcome.data.x_train.shape[1], (after - before) // 1024, outcome.metrics["test"]["auc"])
""")


@pytest.mark.slow  # about 15 s: a fresh interpreter with torch, 150,000 rows
def test_a_100000_value_text_column_trains_within_a_memory_budget(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _BUDGET_SCRIPT, str(tmp_path / "teacher")], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    width, growth_mib, test_auc = done.stdout.split()
    # One-hot in float64 (the old encoding) would need 150,000 x 100,000 x 8 bytes = 112 GiB.
    assert int(width) == 2
    # Measured here: about 300 MiB (the table's text, its keys, torch's training buffers).
    assert int(growth_mib) < 600, f"peak RSS grew by {growth_mib} MiB"
    assert float(test_auc) > 0.7
    spec = json.loads((tmp_path / "teacher" / "preprocessor.json").read_text())
    assert spec["categorical"][0]["encoding"] == "woe"


def test_train_cli_records_the_encoding_options(tmp_path: Path, loans_csv: Path) -> None:
    out = tmp_path / "teacher"
    result = runner.invoke(app, ["train", str(loans_csv), "--target", "defaulted", "--out", str(out), "--model",
                                 "logistic", "--max-categories", "3", "--min-category-count", "5",
                                 "--high-cardinality", "target", "--quiet"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    # Its blanks are one of the 5 values, said so (a validator's walk-through, 2026-12-05), with the smoothing.
    assert "'purpose': 5 values (empty or blank counted as one; more than --max-categories 3): target encoding" in said
    assert "smoothed towards the prior with weight m = 20; training rows encoded out of fold (5 folds" in said
    spec = json.loads((out / "preprocessor.json").read_text())
    assert spec["format"] == "finlite.preprocessor/2"
    assert spec["encoding"]["max_categories"] == 3 and spec["encoding"]["high_cardinality"] == "target"
    purpose = next(c for c in spec["categorical"] if c["name"] == "purpose")
    assert purpose["encoding"] == "target" and 0 < purpose["default"] < 1
    assert next(c for c in spec["categorical"] if c["name"] == "home_ownership")["encoding"] == "onehot"


def test_a_column_constant_in_training_loads_after_its_range_is_widened() -> None:
    """A column constant in its training rows is scaled by 1; its accepted range is widened to the
    other splits' values (cover), so the spec's sanity check must not read the scale of 1 as
    "more than half the range" (a regression of the first form of that check, 2026-12-04)."""
    from finlite._spec import check_preprocessor_spec

    schema = Schema(target="y", positive="1", negative="0", numeric=("flag", "amount"), categorical=())
    pre = Preprocessor(schema).fit(pd.DataFrame({"flag": [0.0] * 6, "amount": [1.0, 2, 3, 4, 5, 6]}))
    pre.cover(pd.DataFrame({"flag": [0.0, 1.0], "amount": [1.0, 6.0]}))
    spec = pre.to_dict()
    assert spec["numeric"][0]["std"] == 1.0 and spec["numeric"][0]["high"] == 1.0
    check_preprocessor_spec(spec)  # no error
    spec["numeric"][1]["std"] = 3.0  # more than half of 1 to 6: no spread of those values has it
    with pytest.raises(DataError, match=r"numeric field 'amount' has std 3\.0, more than half its training range"):
        check_preprocessor_spec(spec)


def test_a_placeholder_far_beyond_a_numeric_column_s_range_is_named_in_a_note() -> None:
    """One 9999999999 among 30,000 amounts set the column's scaling (AUC 0.83 to 0.63) and the
    training range scoring accepts, without a word (a fraud engineer's walk-through,
    2026-12-04 night). Kept (it may be real), and named; a heavy tail is not."""
    from finlite.data.prepared import prepare

    rng = np.random.default_rng(7)
    amount = np.round(rng.lognormal(3.5, 2.0, 5_000), 2)  # a heavy tail: about 40 ranges out at most
    frame = pd.DataFrame({"amount": amount, "y": (rng.uniform(size=5_000) < 0.1).astype(int)})
    assert not [n for n in prepare(frame, target="y").schema.notes if "percentile" in n]
    # A zero-inflated amount (98.5 % zeros, a real heavy tail): the percentiles would collapse onto
    # the zeros and name the tail (the diff's review); the range is the other values'.
    inflated = np.where(rng.uniform(size=5_000) < 0.985, 0.0, rng.lognormal(3.5, 2.0, 5_000))
    assert not [n for n in prepare(frame.assign(amount=inflated), target="y").schema.notes if "percentile" in n]
    frame.loc[:9, "amount"] = 9999999999.0  # ten rows, some of them in the training split
    notes = [n for n in prepare(frame, target="y").schema.notes if "percentile" in n]
    assert len(notes) == 1 and re.search(r"column 'amount': \d+ training value\(s\) lie more than 1,000 times the "
                                         r"1st-99th percentile range \([\d.]+ to [\d.]+\) outside it, e\.g\. "
                                         r"-?9999999999; .*blank them", notes[0]), notes


def test_a_placeholder_of_nines_is_named_sooner() -> None:
    """Four debt-to-income ratios of 9999 in a column whose 99th percentile is about 40 (241 ranges
    out, below the 1,000 of any other value) set its scale without a word, and adverse-action
    reasons never cited it (a walk-through, 2026-12-05). A value of nines is named from 10 ranges;
    500, or a real heavy tail, is not."""
    from finlite.data.preprocess import _nines

    assert _nines(np.array([99, 999, 9999, 999999.99, -999, 9999999999.0])).all()
    assert not _nines(np.array([9, 98, 99.5, 100, 1000, 199, 0.99])).any()
    rng = np.random.default_rng(3)
    dti = np.round(rng.gamma(4, 5, 3_000), 2)
    frame = pd.DataFrame({"dti": dti, "y": (rng.uniform(size=3_000) < 0.2).astype(int)})
    for value, named in ((9999.0, True), (999.0, True), (500.0, False)):
        frame.loc[:5, "dti"] = value
        notes = [n for n in prepare(frame, target="y").schema.notes if "percentile" in n]
        assert bool(notes) is named, (value, notes)
        if named:
            assert re.search(rf"column 'dti': \d+ training value\(s\) lie more than 10 times the 1st-99th percentile "
                             rf"range .* e\.g\. {value:g};", notes[0]), notes


def test_codes_far_above_a_count_s_values_are_named() -> None:
    """96 and 98 ("unknown", "refused") among counts of late payments of at most 13 were read as 98
    late payments (a walk-through of Give Me Some Credit, 2026-12-05)."""
    from finlite.data.preprocess import _special_codes_note

    rng = np.random.default_rng(0)
    late = np.where(rng.random(5_000) < 0.9, 0, rng.integers(1, 14, 5_000)).astype(float)
    late[:45] = [98.0] * 30 + [96.0] * 15
    note = _special_codes_note("late", late)
    assert note is not None and note.startswith("column 'late': the value(s) 96, 98 (45 training rows) stand far "
                                                "above every other value (at most 13)")
    frame = pd.DataFrame({"late": late, "y": (rng.random(5_000) < 0.1).astype(int)})
    assert [n for n in prepare(frame, target="y").schema.notes if "stand far above" in n]
    # Real values are not named: ages, amounts, a few large employers among small ones, many codes.
    assert _special_codes_note("age", rng.integers(18, 90, 5_000).astype(float)) is None
    assert _special_codes_note("amount", rng.uniform(0, 100, 5_000)) is None
    employees = rng.integers(0, 50, 5_000).astype(float)
    employees[:30] = np.arange(500, 530)
    assert _special_codes_note("employees", employees) is None
    employees[:30] = rng.integers(0, 50, 30)
    employees[:3] = [500.0, 1_200.0, 4_000.0]  # one row each: large employers, not codes (a review, 2026-12-05)
    assert _special_codes_note("employees", employees) is None
    shares = np.where(rng.random(5_000) < 0.05, 100.0, 0.0)  # 0 or 100 % in 5 % of rows: a value, not a code
    assert _special_codes_note("share", shares) is None
    assert _special_codes_note("late", late[:50]) is None  # too few rows to tell


def test_a_target_of_more_than_two_outcomes_says_to_leave_out_unfinished_loans() -> None:
    frame = pd.DataFrame({"x": range(40), "loan_status": ["Fully Paid", "Charged Off", "Current", "Late (31-120 days)"]
                          * 10})
    with pytest.raises(DataError, match=r"has 4 classes; .* leaving out the rows whose outcome is not known yet "
                                        r"\(loans still current or late"):
        infer_schema(frame, "loan_status", positive="Charged Off")
    with pytest.raises(DataError, match=r"has 4 distinct values .* Map the target to two classes, after leaving out "
                                        r"the rows whose outcome is not known yet"):
        infer_schema(frame, "loan_status")


def test_a_month_of_a_year_is_a_date_and_a_word_beginning_like_a_month_is_not() -> None:
    """"Dec-15" was read by pandas as 15 December of the year 1 and came back as 1755, so an
    out-of-time split ordered LendingClub's loans by month; "Octane 91" was dropped as a date
    (a review, 2026-12-05)."""
    from finlite.data.schema import parse_dates

    texts = pd.Series(["Dec-15", "Aug-03", "Mar-62", "Dec-2015", "Aug 2003", "December 2015", "Sept. 2015", None])
    assert parse_dates(texts, "issue_d", "t").tolist()[:7] == [pd.Timestamp(d) for d in (
        "2015-12-01", "2003-08-01", "1962-03-01", "2015-12-01", "2003-08-01", "2015-12-01", "2015-09-01")]
    rng = np.random.default_rng(0)
    book = pd.DataFrame({"fuel": rng.choice(["Octane 91", "Octane 95", "Octane 98"], 300),
                         "plan": rng.choice(["Novated 36", "Novated 48"], 300),
                         "issue_d": [f"{m}-{y:02d}" for m, y in zip(rng.choice(["Jan", "Jun", "Dec"], 300),
                                                                     rng.integers(8, 16, 300), strict=True)],
                         "y": rng.integers(0, 2, 300)})
    schema = infer_schema(book, "y")
    assert schema.categorical == ("fuel", "plan") and "issue_d" in schema.drop
    split = make_split(book, book["y"].to_numpy(dtype=np.float32), SplitConfig(date_column="issue_d"), source="t")
    dates = parse_dates(book["issue_d"], "issue_d", "t")
    assert dates.iloc[split.train].max() <= dates.iloc[split.test].min()
    assert dates.min() >= pd.Timestamp("2008-01-01")
    assert SplitConfig().to_dict()["month_year"] is True
    # An artifact split by an older finlite (its record lacks month_year) read these dates wrongly:
    # its split cannot be made again as it was, and is refused; other dates split as they did.
    with pytest.raises(DataError, match=r"holds months of a year such as '\w{3}-\d\d', which the finlite that made "
                                        r"this artifact read wrongly .* Train the teacher again"):
        make_split(book, book["y"].to_numpy(dtype=np.float32), SplitConfig(date_column="issue_d", month_year=False),
                   source="t")
    iso = book.assign(issue_d=pd.date_range("2010-01-01", periods=300, freq="D").strftime("%Y-%m-%d"))
    labels = iso["y"].to_numpy(dtype=np.float32)
    old = make_split(iso, labels, SplitConfig(date_column="issue_d", month_year=False), source="t")
    assert np.array_equal(old.test, make_split(iso, labels, SplitConfig(date_column="issue_d"), source="t").test)
    # Four-digit years were read right before, so they are not refused (a review, 2026-12-05).
    four = book.assign(issue_d=book["issue_d"].str.replace(r"-(\d\d)$", r"-20\1", regex=True))
    old = make_split(four, labels, SplitConfig(date_column="issue_d", month_year=False), source="t")
    assert np.array_equal(old.test, make_split(four, labels, SplitConfig(date_column="issue_d"), source="t").test)


def test_a_numeric_column_that_alone_separates_the_labels_is_named_as_a_likely_leak() -> None:
    """A sampling weight left in a fraud table (legitimate 10, fraud 1) gave a test AUC of 1.0000
    with nothing said (a fraud engineer's walk-through, 2026-12-04 night). The AUC in the note is
    the column's own, checked against scikit-learn."""
    from sklearn.metrics import roc_auc_score

    from finlite.data.prepared import prepare

    rng = np.random.default_rng(5)
    n = 2_000
    y = (rng.uniform(size=n) < 0.1).astype(int)
    frame = pd.DataFrame({"amount": rng.lognormal(3, 1, n) + 5 * y, "y": y,
                          "sample_weight": np.where(y == 1, 1.0, 10.0) + rng.normal(0, 0.01, n)})
    prepared = prepare(frame, target="y")
    notes = [note for note in prepared.schema.notes if "separates" in note]
    train = prepared.frame.iloc[prepared.split.train]
    expected = roc_auc_score(prepared.y_train, train["sample_weight"])
    assert notes == [f"column 'sample_weight' alone separates the training labels (AUC {expected:.4f} by its values): "
                     "if it is known only after the outcome (a charge-off amount, a status, a sampling weight), it "
                     "leaks the label into the model; drop it (--drop sample_weight; an imported booster: train it "
                     "again without the column) unless it is truly known at decision time."]
    assert not [note for note in prepare(frame.drop(columns="sample_weight"), target="y").schema.notes
                if "separates" in note]
    # With fewer than 10 of a class a random column separates it by chance (one fraud: 2 in n + 1).
    few = frame.assign(y=0)
    few.loc[:4, "y"] = 1
    few["sample_weight"] = np.where(few["y"] == 1, 1.0, 10.0)  # separates its few positives perfectly
    assert not [note for note in prepare(few, target="y").schema.notes if "separates" in note]


def test_a_column_that_separates_the_labels_by_its_blanks_or_its_categories_is_named() -> None:
    """A loss amount blank for every good loan, and a workout stage set only for the bad ones,
    trained at a test AUC of 1.0000 without a word, even under --strict: the first was ranked with
    its blanks at the median, the second never ranked (an LGD modeller's walk-through,
    2026-12-07). Each AUC in the note is checked against scikit-learn's on the encoding it names;
    an identifier's one-row values and an ordinary category separate nothing."""
    from sklearn.metrics import roc_auc_score

    from finlite.data.prepared import prepare

    rng = np.random.default_rng(7)
    n = 1_500
    y = (rng.uniform(size=n) < 0.2).astype(int)
    loss = np.where(y == 1, rng.uniform(0, 5_000, n), np.nan)
    stage = np.where(y == 1, rng.choice(["legal", "collections", "sold"], n), None)
    frame = pd.DataFrame({"amount": rng.lognormal(3, 1, n), "loss": loss, "stage": stage,
                          "purpose": rng.choice(["car", "home", "cash"], n),
                          "ref": [f"R{i:05d}" for i in rng.permutation(n)], "y": y})
    prepared = prepare(frame, target="y", categorical=["stage", "purpose", "ref"])
    notes = {note.split("'")[1]: note for note in prepared.schema.notes if "alone separates" in note}
    assert sorted(notes) == ["loss", "stage"]
    train = prepared.frame.iloc[prepared.split.train]
    lowest = roc_auc_score(prepared.y_train, np.nan_to_num(train["loss"].to_numpy(), nan=-1.0))
    assert lowest == 1.0 and f"(AUC {lowest:.4f} by its values, blanks ranked lowest)" in notes["loss"]
    by_rate = train.groupby(train["stage"].fillna("-"))["y"].transform("mean")
    assert f"(AUC {roc_auc_score(prepared.y_train, by_rate):.4f} by its values' rates of the positive class; " \
           "values of one class only: blank (" in notes["stage"]
    assert "it leaks the label into the model; drop it (--drop stage" in notes["stage"]
    # A merchant id of pure noise in a book of 0.03 % frauds ranked at AUC 0.996 in sample (its
    # values mostly of no fraud: a review, 2026-12-07): out of fold it separates nothing.
    noise = np.random.default_rng(1)
    m = 100_000
    rare = pd.DataFrame({"amount": noise.lognormal(3, 1, m), "merchant_id": noise.integers(0, 2000, m).astype(str),
                         "y": (noise.uniform(size=m) < 0.0003).astype(int)})
    assert not [n for n in prepare(rare, target="y", categorical=["merchant_id"]).schema.notes if "alone separates" in n]
    # Blanks alike in both classes, and a column of values too rare to rank: nothing.
    calm = frame.assign(loss=np.where(rng.uniform(size=n) < 0.3, np.nan, rng.uniform(0, 5_000, n)))
    quiet = prepare(calm.drop(columns="stage"), target="y", categorical=["purpose", "ref"])
    assert not [note for note in quiet.schema.notes if "alone separates" in note]


def test_blank_numbers_counts_blank_text_in_any_column_type() -> None:
    """A category-typed numeric column's blank cells were not counted (a review, 2026-12-05)."""
    from finlite.data.preprocess import blank_numbers

    # Counted as the preprocessor reads the numbers (schema.numeric_column), money text included.
    train = pd.DataFrame({"amt": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "cash": ["$1", "$2", "$3", "$4", "$5", "$6"],
                          "y": [0, 1, 0, 1, 0, 1]})
    schema = Schema(target="y", positive="1", negative="0", numeric=("amt", "cash"), categorical=(), money=("cash",))
    pre = Preprocessor(schema).fit(train)
    cash = pd.Series(["$1", " ", None, "$2"], dtype=object)
    for column in (pd.Series(["1", " ", None, "2"], dtype="category"), pd.Series(["1", " ", None, "2"], dtype=object),
                   pd.Series(["1", "", None, "2"], dtype="string"), pd.Series([1.0, np.nan, np.nan, 2.0])):
        assert blank_numbers(pd.DataFrame({"amt": column, "cash": cash}), pre) == {"amt": 2, "cash": 2}, column.dtype
    assert blank_numbers(pd.DataFrame({"amt": [1.0, 2.0], "cash": ["$1", "$2"]}), pre) == {}


def test_a_title_line_above_the_header_and_a_column_of_rare_values_are_said_plainly(tmp_path: Path) -> None:
    """An export's first line "Notes offered by Prospectus (https://...)" was refused as "rows of
    more fields than its header"; a weight-of-evidence column none of whose values reached the
    minimum count was noted as encoding "the 0 values" (a walk-through, 2026-12-05)."""
    book = _lending_book(300)
    path = tmp_path / "export.csv"
    path.write_text("Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)\n"
                    + book.to_csv(index=False))
    result = runner.invoke(app, ["train", str(path), "--target", "loan_status", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "starts with a line of 1 field ('Notes offered by Prospectus" in result.output
    assert "line 1 looks like a title above the header. Remove the lines above the header" in \
        " ".join(result.output.split())
    # A two-column file whose rows end in empty fields has no title line.
    (tmp_path / "trail.csv").write_text("score,bad\n" + "".join(f"{i / 10},{i % 2},,,,,\n" for i in range(30)))
    from finlite.data.io import title_line

    assert title_line(tmp_path / "trail.csv", ",") is None
    zips = book.assign(zip_code=[f"{i % 100:03d}xx" for i in range(300)])  # 100 values, 3 rows each
    note = next(n for n in prepare(zips, target="loan_status", positive="Charged Off").schema.notes
                if "'zip_code'" in n)
    assert "no value is in 10 or more training rows, so every row takes the prior and the column adds nothing" in note


def test_a_row_of_labels_or_a_padded_title_above_the_header_is_told_as_such(tmp_path: Path, exported_dir: Path,
                                                                            german_csv: Path) -> None:
    """UCI's credit-card file has a row of labels (",X1,...,Y") above its header, and a
    spreadsheet pads a title with empty fields ("title,,,,"): train said the target was missing,
    or that the column '' was named twice, and score that 20 columns were missing (a walk-through
    of Taiwan's book, 2026-12-05). Each now says the first line sits above the header."""
    book = _lending_book(300)
    labels = tmp_path / "labels.csv"
    labels.write_text(",".join(f"X{i}" for i in range(len(book.columns))) + "\n" + book.to_csv(index=False))
    result = runner.invoke(app, ["train", str(labels), "--target", "loan_status", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and ("labels.csv, whose values read as column names (int_rate, revol_util, loan_amnt, "
                                      "loan_status, ...), not in its header (X0, X1, X2, X3)") \
        in " ".join(result.output.split()), result.output
    # A value equal to a mistyped target in the first row is no header (a review, 2026-12-05).
    status = book.assign(grade=["default"] + ["current"] * (len(book) - 1))
    with pytest.raises(DataError, match=r"Target column 'default' is not in DataFrame\. Available columns"):
        prepare(status, target="default")
    padded = tmp_path / "padded.csv"
    padded.write_text("Loans issued in 2015" + "," * (len(book.columns) - 1) + "\n" + book.to_csv(index=False))
    result = runner.invoke(app, ["train", str(padded), "--target", "loan_status", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "starts with a line of 1 field ('Loans issued in 2015')" in result.output, \
        result.output
    german = pd.read_csv(german_csv)
    for name, first in (("g_labels.csv", ",".join(f"X{i}" for i in range(len(german.columns)))),
                        ("g_title.csv", "German credit" + "," * (len(german.columns) - 1))):
        path = tmp_path / name
        path.write_text(first + "\n" + german.to_csv(index=False))
        scored = runner.invoke(app, ["score", str(exported_dir), str(path), "-o", str(tmp_path / "s.csv")])
        assert scored.exit_code == 2 and ("looks like a title or a row of labels above the header" in scored.output
                                          or "line 1 looks like a title above the header" in scored.output), \
            scored.output
        assert not (tmp_path / "s.csv").exists()


def _utilisation_book(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Ratios of 0 to 1.5 that carry the risk, with 0.5 % of them at 1,000 to 50,000 (Give Me
    Some Credit's RevolvingUtilizationOfUnsecuredLines), and an age that carries a little."""
    rng = np.random.default_rng(seed)
    util = rng.uniform(0, 1.5, n)
    far = rng.choice(n, n // 200, replace=False)
    util[far] = rng.uniform(1_000, 50_000, len(far))
    age = rng.integers(21, 80, n).astype(float)
    logit = -2.0 + 3.0 * np.clip(util, 0, 1.5) - 0.01 * (age - 50)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"util": util, "age": age, "y": y})


def test_a_column_with_far_values_is_squashed_so_its_ordinary_values_keep_their_spread() -> None:
    """0.5 % of utilisations at 1,000 to 50,000 set the scale of a standardised column: its
    ordinary values (0 to 1.5) then span 0.0003 standard deviations, and a neural network or a
    logistic regression barely tells them apart. Squashed (the default), the column's distance
    from its median in 1st-99th percentile ranges, d, is read as d / (1 + |d|) first: the
    ordinary values span over a standard deviation, the order of all values is kept, and every
    path encodes it alike."""
    from finlite.data.preprocess import EXTREME_MARK, SQUASH_MARK

    frame = _utilisation_book()
    schema = infer_schema(frame, "y")
    pre = Preprocessor(schema).fit(frame)
    spec = json.loads(json.dumps(pre.to_dict()))  # as the file holds it
    util = frame["util"].to_numpy()
    low, high = np.percentile(util, [1, 99])
    entry = next(e for e in spec["numeric"] if e["name"] == "util")
    assert spec["encoding"]["extremes"] == "squash" and spec["format"] == "finlite.preprocessor/3"
    assert entry["squash"] == {"center": float(np.median(util)), "scale": pytest.approx(high - low)}
    assert "squash" not in next(e for e in spec["numeric"] if e["name"] == "age")  # no far values: as before
    # Independently: d / (1 + |d|), then standardised by that column's own mean and spread.
    d = (util - np.median(util)) / (high - low)
    read = d / (1 + np.abs(d))
    expected = ((read - read.mean()) / read.std()).astype(np.float32)
    column = pre.feature_names.index("util")
    encoded = pre.transform(frame)[:, column]
    np.testing.assert_allclose(encoded, expected, rtol=1e-6, atol=1e-6)
    ordinary = util <= 1.5
    assert np.ptp(encoded[ordinary]) > 1.0
    order = np.argsort(util, kind="stable")
    assert (np.diff(encoded[order].astype(np.float64)) >= 0).all()  # the order of values is kept
    assert any(SQUASH_MARK in n and "'util'" in n for n in pre.notes_)
    # Scaled as it is (Encoding(extremes="scale"), an imported booster's columns): the far values set the scale.
    scaled = Preprocessor(schema, Encoding(extremes="scale")).fit(frame)
    assert np.ptp(scaled.transform(frame)[ordinary, column]) < 0.01
    # Nothing squashed: the file is version 2, as earlier versions wrote and read it.
    assert "extremes" not in scaled.to_dict()["encoding"] and scaled.to_dict()["format"] == "finlite.preprocessor/2"
    assert all("squash" not in e for e in scaled.to_dict()["numeric"])
    assert any(EXTREME_MARK in n and "'util'" in n for n in scaled.notes_)
    # Through the file: the pandas Preprocessor, the record path and the Arrow path write the same float32.
    again = Preprocessor.from_dict(spec)
    assert again.encoding.extremes == "squash"
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))
    encoder = Encoder(spec)
    features = frame[list(schema.features)]
    records = features.to_dict("records")
    np.testing.assert_array_equal(encoder.encode_records(records)[0], pre.transform(frame))
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(features, preserve_index=False)),
                                  pre.transform(frame))
    # A file written before squashing existed has no "extremes": it reads as scaled, as it was written.
    old = json.loads(json.dumps(scaled.to_dict()))
    assert Preprocessor.from_dict(old).encoding.extremes == "scale"
    with pytest.raises(ConfigError, match=r"'extremes' parameter of Encoding must be one of squash, scale"):
        Encoding(extremes="clip")


def test_a_squashed_column_with_a_blank_imputes_the_median_on_every_path() -> None:
    frame = _utilisation_book(1000, seed=1)
    frame.loc[[3, 7], "util"] = np.nan
    pre = Preprocessor(infer_schema(frame, "y")).fit(frame)
    encoder = Encoder(pre.to_dict())
    rows = frame.loc[[3, 7, 8], ["util", "age"]]
    expected = pre.transform(rows)
    assert expected[0, 0] == expected[1, 0]  # the median's encoding, with the missing indicator set
    assert expected[0, pre.feature_names.index("util__is_missing")] == 1.0
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in rows.to_dict("records")]
    np.testing.assert_array_equal(encoder.encode_records(records)[0], expected)
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(rows, preserve_index=False)), expected)


def _squashed_spec() -> dict:
    return json.loads(json.dumps(Preprocessor(infer_schema(_utilisation_book(), "y")).fit(_utilisation_book()).to_dict()))


@pytest.mark.parametrize(("change", "message"), [
    ({"scale": 0.0}, r"has squash .*not a center and a scale of at least 1e-200"),
    ({"scale": 1e-320}, r"has squash .*not a center and a scale of at least 1e-200"),
    ({"scale": float("inf")}, r"has squash .*not a center and a scale of at least 1e-200"),
    ({"centre": 1.0}, r"has squash .*not a center and a scale of at least 1e-200"),
    ({"center": -5.0}, r"has squash center -5.0 and scale .*, not a centre within its training range"),
    # A scale wider than the range squashes every value to about one number: the field ignored.
    ({"scale": 1e30}, r"has squash center .* and scale 1e\+30, not a centre within its training range .* and a scale "
                      r"at most that range"),
])
def test_a_malformed_squash_is_refused_naming_the_field(change: dict[str, float], message: str) -> None:
    spec = _squashed_spec()
    entry = next(e for e in spec["numeric"] if e["name"] == "util")
    entry["squash"] = {**entry["squash"], **change}
    if "centre" in change:
        del entry["squash"]["center"]
    with pytest.raises(DataError, match=rf"numeric field 'util' {message}"):
        Preprocessor.from_dict(spec)
    with pytest.raises(DataError, match=rf"numeric field 'util' {message}"):
        Encoder(spec)


def test_a_squash_where_the_file_says_nothing_is_squashed_or_without_its_range_is_refused() -> None:
    """A reader that ignored a squash would misread the column: a squash is accepted only in a
    version-3 file whose encoding says "squash", with the training range training writes."""
    for edit, message in [
            (lambda s, e: s.update(format="finlite.preprocessor/2"), "is squashed in a file whose format or encoding"),
            (lambda s, e: s["encoding"].update(extremes="scale"), "is squashed in a file whose format or encoding"),
            (lambda s, e: e.update(squash=None), r"has squash None, not a center and a scale"),
            (lambda s, e: (e.pop("low"), e.pop("high")), "is squashed but records no training range")]:
        spec = _squashed_spec()
        edit(spec, next(e for e in spec["numeric"] if e["name"] == "util"))
        with pytest.raises(DataError, match=rf"numeric field 'util' {message}"):
            Encoder(spec)
        with pytest.raises(DataError, match=rf"numeric field 'util' {message}"):
            Preprocessor.from_dict(spec)
    spec = _squashed_spec()
    spec["encoding"]["extremes"] = "bogus"
    with pytest.raises(DataError, match=r"preprocessor\.json is not usable: encoding extremes is 'bogus', not squash or "
                                        r"scale"):
        Encoder(spec)
    spec["format"] = "finlite.preprocessor/4"
    with pytest.raises(DataError, match=r"expected format 'finlite\.preprocessor/2' or 'finlite\.preprocessor/3'\); a "
                                        r"newer finlite may have written it"):
        Encoder(spec)


def test_a_zero_inflated_column_is_squashed_about_its_other_values() -> None:
    """55 % zeros, bureau scores of 600 to 800, 0.3 % at 9999: the range is the scores'; centred
    on the median of all rows (0) the scores sat three ranges out, on the squash's flat part, and
    spread less than scaled as they were (a review, 2026-12-05). Centred on the scores' median,
    they spread more than scaled."""
    rng = np.random.default_rng(3)
    n = 4000
    score = np.where(rng.random(n) < 0.55, 0.0, rng.uniform(600, 800, n))
    score[rng.choice(n, 12, replace=False)] = 9999.0
    frame = pd.DataFrame({"bureau": score, "y": rng.integers(0, 2, n)})
    schema = infer_schema(frame, "y")
    squashed = Preprocessor(schema).fit(frame)
    spec = next(s for s in squashed.numeric_ if s.name == "bureau")
    others = score[score > 0]
    assert spec.squash is not None and spec.squash[0] == float(np.median(others))
    scaled = Preprocessor(schema, Encoding(extremes="scale")).fit(frame)
    ordinary = (score >= 600) & (score <= 800)
    spread = {name: np.ptp(p.transform(frame)[ordinary, 0]) for name, p in (("squash", squashed), ("scale", scaled))}
    assert spread["squash"] > 1.5 * spread["scale"], spread


def test_squashed_integer_and_money_columns_are_encoded_alike_on_every_path() -> None:
    """Counts held as int64 (Arrow reads them without a float copy) and amounts written as text
    ("$9,999,999,999.00"), each with far values: squashed, and every path writes the same float32."""
    rng = np.random.default_rng(4)
    n = 600
    count = rng.integers(0, 20, n)
    count[[3, 30, 300]] = 99_999_999
    amount = np.round(rng.uniform(100, 5_000, n), 2)
    amount[[7, 70]] = 9_999_999_999.0
    money = pd.Series([f"${v:,.2f}" for v in amount], dtype=object)
    frame = pd.DataFrame({"count": count, "amount": money, "y": rng.integers(0, 2, n)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("count", "amount"), categorical=(),
                    money=("amount",))
    pre = Preprocessor(schema).fit(frame)
    spec = json.loads(json.dumps(pre.to_dict()))
    assert all("squash" in e for e in spec["numeric"])
    encoder = Encoder(spec)
    rows = frame.iloc[:40]
    expected = pre.transform(rows)
    records = [{"count": int(c), "amount": a} for c, a in zip(rows["count"], rows["amount"], strict=True)]
    np.testing.assert_array_equal(encoder.encode_records(records)[0], expected)
    table = pa.Table.from_pydict({"count": pa.array(rows["count"].to_numpy(), pa.int64()),
                                  "amount": pa.array(list(rows["amount"]), pa.string())})
    np.testing.assert_array_equal(encoder.encode_arrow(table), expected)


def test_a_squashed_column_whose_mean_and_spread_are_not_of_squashed_values_is_refused() -> None:
    spec = Preprocessor(infer_schema(_utilisation_book(), "y")).fit(_utilisation_book()).to_dict()
    entry = next(e for e in spec["numeric"] if e["name"] == "util")
    entry["mean"] = 5.0
    with pytest.raises(DataError, match=r"numeric field 'util' is squashed, and its mean 5.0 and std .* are not those "
                                        r"of values within -1 to 1"):
        Encoder(spec)


def test_squashing_lets_a_logistic_regression_use_a_column_with_far_values() -> None:
    """The same book trained both ways: scaled as it is, the utilisation barely moves the
    logistic regression's score; squashed, it carries the risk it holds (test AUC up by more
    than 0.05; measured 0.53 and 0.82)."""
    import finlite

    frame = _utilisation_book(4000, seed=2)
    aucs = {}
    for extremes in ("scale", "squash"):
        outcome = finlite.train(frame, target="y", model="logistic", seed=0, encoding=Encoding(extremes=extremes),
                                progress=False)
        aucs[extremes] = outcome.metrics["test"]["auc"]
    assert aucs["squash"] > aucs["scale"] + 0.05, aucs
    assert aucs["squash"] > 0.7, aucs


def test_a_squashed_column_reads_back_in_its_own_units_and_its_scorecard_bins_too() -> None:
    """A scorecard shows its bins in the column's units: for a squashed column through the
    inverse of the squash, not a linear map (which would show ratios of 0 to 1.5 as negative
    thousands)."""
    import torch

    from finlite.methods.linear import scorecard_table
    from finlite.models.scorecard import ScorecardModel

    frame = _utilisation_book()
    pre = Preprocessor(infer_schema(frame, "y")).fit(frame)
    spec = next(s for s in pre.numeric_ if s.name == "util")
    assert spec.squash is not None
    column = pre.feature_names.index("util")
    encoded = pre.transform(frame)[:, column].astype(np.float64)
    util = frame["util"].to_numpy()
    back = spec.raw(encoded)
    ordinary = util <= 1.5
    np.testing.assert_allclose(back[ordinary], util[ordinary], atol=1e-4)  # float32's resolution, in ratio units
    # Near ±1, float32 resolves a far value to about a percent of itself (30,000 ranges out: 0.1 %).
    np.testing.assert_allclose(back[~ordinary], util[~ordinary], rtol=1e-2)
    assert spec.raw(np.array([-np.inf, np.inf])).tolist() == [-np.inf, np.inf]
    card = ScorecardModel(2, 2, 3)
    cuts = np.percentile(encoded, [30, 70])
    with torch.no_grad():
        card.edges[column] = torch.tensor(cuts, dtype=card.edges.dtype)
    rows = scorecard_table(card, pre.feature_names, [s.raw for s in pre.numeric_])
    shown = [r["attribute"] for r in rows if r["feature"] == "util"]
    low, high = np.percentile(util, [30, 70])
    assert shown == [f"[-inf, {spec.raw(np.float32(cuts[:1]))[0]:.4g})",
                     f"[{spec.raw(np.float32(cuts[:1]))[0]:.4g}, {spec.raw(np.float32(cuts[1:]))[0]:.4g})",
                     f"[{spec.raw(np.float32(cuts[1:]))[0]:.4g}, inf)"]
    assert float(shown[1][1:].split(",")[0]) == pytest.approx(low, abs=0.01)
    assert float(shown[1].split(", ")[1][:-1]) == pytest.approx(high, abs=0.01)


def test_separating_edges_give_codes_and_far_values_bins_of_their_own() -> None:
    from finlite.data.preprocess import separating_edges

    rng = np.random.default_rng(5)
    late = np.minimum(rng.poisson(0.3, 5_000), 13).astype(float)
    late[:10], late[10:20] = 98.0, 96.0
    assert separating_edges(late) == [float(late[20:].max())]
    income = rng.uniform(1_000, 9_000, 5_000)
    income[:4] = 1e12  # placeholders above
    income[4:6] = -1e12  # and below
    edges = separating_edges(income)
    assert edges == [float(np.sort(income)[-5]), -1e12]
    assert separating_edges(rng.uniform(0, 1, 5_000)) == []  # nothing to set apart


@pytest.mark.parametrize("kind", ["onehot", "woe"])
def test_a_column_with_no_value_kept_stores_none_of_its_values(kind: str) -> None:
    """An identifier forced in as a category (an IBAN per customer) wrote every training value to
    preprocessor.json, where it adds nothing to a score (a data-protection walk-through,
    2026-12-07): none is stored, training and scoring rows alike take the unseen column (or the
    prior), and a date-typed refusal quotes no training value."""
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("iban", "grade"))
    n = 120
    ibans = [f"DE8937040044053201{i:04d}" for i in range(n)]
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "iban": ibans, "grade": ["A", "B", "C"] * (n // 3),
                          "y": [0, 1, 0, 0] * (n // 4)})
    pre = Preprocessor(schema, Encoding(max_categories=1000 if kind == "onehot" else 50)).fit(frame)
    text = json.dumps(pre.to_dict())
    assert not any(iban in text for iban in ibans)
    assert any("column 'iban': " in n and "its values are not stored" in n for n in pre.notes)
    spec = next(c for c in pre.to_dict()["categorical"] if c["name"] == "iban")
    assert spec["categories"] == [] and spec["other"] == [] and spec.get("encoding", "onehot") == kind
    # A training row and a new customer encode alike, on both encoders.
    new = frame.head(3).assign(iban=["XX00NEW1", "XX00NEW2", None])
    np.testing.assert_array_equal(pre.transform(new), pre.transform(frame.head(3)))
    encoder = Encoder(pre.to_dict())
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(new.drop(columns="y"))),
                                  pre.transform(frame.head(3)))
    if kind == "onehot":
        assert pre.feature_names.count("iban=__unseen__") == 1 and not any("iban=" + OTHER in f for f in pre.feature_names)
    # A Parquet date column where iban belongs is refused without quoting a training value.
    dated = pa.table({"x": [1.0], "iban": pa.array([pd.Timestamp("2024-01-01")]), "grade": ["A"]})
    with pytest.raises(DataError, match=r"trained on categories that no date") as refused:
        encoder.encode_arrow(dated, source="book.parquet")
    assert "DE89" not in str(refused.value)
    graded = pa.table({"x": [1.0], "iban": ["a"], "grade": pa.array([pd.Timestamp("2024-01-01")])})
    with pytest.raises(DataError, match=r"categories \(such as 'A', 'B', 'C'\) that no date"):
        encoder.encode_arrow(graded, source="book.parquet")


@pytest.mark.parametrize("kind", ["onehot", "woe"])
def test_values_kept_with_few_rows_are_warned_of_as_disclosing_outcomes(kind: str) -> None:
    """--min-category-count 1 stored each postcode seen once with its own weight of evidence, one
    of two numbers for good and for bad: the artifact told whether that customer defaulted, and
    nothing was said (a data-protection walk-through, 2026-12-07)."""
    from finlite.data.preprocess import DISCLOSURE_ROWS, disclosure_notes

    n = 400
    rng = np.random.default_rng(0)
    postcodes = [f"P{i:05d}" for i in range(60)] + ["P99999"] * (n - 60)  # 60 seen once, one common
    frame = pd.DataFrame({"x": rng.normal(size=n), "postcode": postcodes, "y": rng.integers(0, 2, n)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("postcode",))
    many = 1000 if kind == "onehot" else 50
    pre = Preprocessor(schema, Encoding(min_category_count=1, max_categories=many)).fit(frame)
    notes = disclosure_notes(pre, frame)
    assert len(notes) == 1 and f"column 'postcode': 60 values kept with fewer than {DISCLOSURE_ROWS} training rows " \
        "(the fewest: 1)" in notes[0]
    assert ("weight of evidence" in notes[0] and "the artifact discloses them" in notes[0]) == (kind == "woe")
    assert ("fitted to those few rows' outcomes" in notes[0]) == (kind == "onehot")
    if kind == "woe":  # the stored number of a one-row value is one of two: its outcome
        spec = pre.to_dict()["categorical"][0]
        once = {v for c, v in zip(spec["categories"], spec["values"], strict=True) if c != "P99999"}
        assert len(once) == 2
    # The default keeps no value of fewer than 10 rows: nothing to warn of.
    assert disclosure_notes(Preprocessor(schema, Encoding(max_categories=many)).fit(frame), frame) == []
    # Among the split's warnings (train warns of them; the report and card list them), counted on
    # the training split's rows.
    prepared = prepare(frame, target="y", categorical=["postcode"],
                       encoding=Encoding(min_category_count=1, max_categories=many))
    said = [w for w in prepared.split_notes() if "kept with fewer than" in w]
    assert len(said) == 1 and re.search(r"column 'postcode': \d+ values kept with fewer than 10 training rows", said[0])


@pytest.mark.parametrize("kind", ["onehot", "woe"])
def test_rare_values_unseen_stores_no_rare_value_and_encodes_them_as_unseen(kind: str) -> None:
    """--rare-values unseen: no value under min_category_count is written to preprocessor.json; in
    training and in scoring alike such a value encodes as one never seen (a one-hot column then
    has no other column), on every encoder (a data-protection walk-through, 2026-12-07)."""
    from finlite._spec import check_preprocessor_spec

    n = 300
    rng = np.random.default_rng(1)
    employers = [f"Employer {i:03d} GmbH" for i in range(40)] + ["Big Bank AG", "Utility Co"] * ((n - 40) // 2)
    frame = pd.DataFrame({"x": rng.normal(size=n), "employer": employers, "y": rng.integers(0, 2, n)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("employer",))
    many = 1000 if kind == "onehot" else 10
    listed = Preprocessor(schema, Encoding(max_categories=many)).fit(frame)
    pre = Preprocessor(schema, Encoding(max_categories=many, rare_values="unseen")).fit(frame)
    spec = pre.to_dict()
    assert "Employer 001 GmbH" in json.dumps(listed.to_dict()) and "Employer" not in json.dumps(spec)
    assert spec["encoding"]["rare_values"] == "unseen" and "rare_values" not in listed.to_dict()["encoding"]
    assert Encoding.from_dict(spec["encoding"]).rare_values == "unseen"
    part = spec["categorical"][0]
    assert sorted(part["categories"]) == ["Big Bank AG", "Utility Co"] and part["other"] == []
    assert any("not stored" in note and "--rare-values unseen" in note for note in pre.notes)
    # A rare training value encodes as a new one, in training and scoring, on both encoders.
    rare, new = frame.head(4), frame.head(4).assign(employer=["Nobody Ltd", "Nobody Ltd", None, "Other plc"])
    rare = rare.assign(employer=[*frame["employer"][:3], "Employer 039 GmbH"])
    np.testing.assert_array_equal(pre.transform(rare), pre.transform(new.assign(employer="Nobody Ltd")))
    encoder = Encoder(spec)
    assert encoder.rare_unlisted == 10 and Encoder(listed.to_dict()).rare_unlisted is None
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(rare.drop(columns="y"))), pre.transform(rare))
    if kind == "onehot":
        assert pre.feature_names == ["x", "employer=Big Bank AG", "employer=Utility Co", "employer=__unseen__"]
        assert f"employer={OTHER}" in listed.feature_names
    # The training rows' own encoding agrees (their rare values take the unseen column or the prior).
    np.testing.assert_array_equal(pre.transform(frame)[:40], pre.transform(frame.head(40).assign(employer="zz")))
    bad = json.loads(json.dumps(spec))
    bad["encoding"]["rare_values"] = "hashed"
    with pytest.raises(DataError, match=r"encoding rare_values is 'hashed', not listed or unseen"):
        check_preprocessor_spec(bad)
    with pytest.raises(ConfigError, match=r"rare_values"):
        Encoding(rare_values="drop")


def test_train_rare_values_unseen_end_to_end(tmp_path: Path) -> None:
    """From the command line: the artifact lists no rare employer, score counts rare and new
    values as unseen and says why, and an unknown choice is refused."""
    rng = np.random.default_rng(2)
    n = 600
    employer = np.where(rng.random(n) < 0.1, [f"Firm {i} Ltd" for i in range(n)], rng.choice(["A", "B", "C"], n))
    frame = pd.DataFrame({"income": rng.normal(50, 10, n).round(1), "employer": employer,
                          "bad": (rng.random(n) < 0.3).astype(int)})
    frame.to_csv(tmp_path / "book.csv", index=False)
    out = tmp_path / "t"
    result = runner.invoke(app, ["train", str(tmp_path / "book.csv"), "--target", "bad", "--model", "logistic",
                                 "--categorical", "employer", "--rare-values", "unseen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    stored = (out / "preprocessor.json").read_text()
    assert "Firm " not in stored and '"rare_values": "unseen"' in stored
    assert "employer=__unseen__, as values never seen do (not stored: --rare-values unseen)" in \
        " ".join(result.output.split())
    exported = runner.invoke(app, ["export", str(out)])
    assert exported.exit_code == 0, exported.output
    scored = runner.invoke(app, ["score", str(out), str(tmp_path / "book.csv"), "-o", str(tmp_path / "s.csv")])
    assert scored.exit_code == 0, scored.output
    said = " ".join(scored.stderr.split())
    assert "a value training saw in fewer than 10 rows, which this artifact does not list (--rare-values unseen)" in said
    bad = runner.invoke(app, ["train", str(tmp_path / "book.csv"), "--target", "bad", "--rare-values", "hashed",
                              "--out", str(tmp_path / "u")])
    assert bad.exit_code == 2 and "--rare-values must be one of listed, unseen; got 'hashed'" in bad.output


def test_a_blank_stays_a_value_training_saw_when_no_value_is_kept_or_rare_ones_are_unlisted() -> None:
    """A column keeping no value (or --rare-values unseen) stored no blank either: a blank record
    was refused under --no-impute and counted as a lost value, where it was a training value
    before (a review, 2026-12-07). The blank key is no customer's: it stays listed. And a frequent
    value beyond --max-categories is no rare one: --rare-values unseen keeps it in the other column."""
    from finlite._keys import MISSING

    n = 120
    zips = [f"Z{i:03d}" if i % 15 else None for i in range(n)]  # 112 values of one row, 8 blanks
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "zip": zips, "y": [0, 1, 0] * (n // 3)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("zip",))
    for encoding in (Encoding(max_categories=1000), Encoding(max_categories=10)):
        pre = Preprocessor(schema, encoding).fit(frame)
        part = pre.to_dict()["categorical"][0]
        assert part["categories"] == [] and part["other"] == [MISSING], part
        assert not any(z in json.dumps(pre.to_dict()) for z in zips if z)
        encoder = Encoder(pre.to_dict())
        blank = {"x": 1.0, "zip": None}
        encoder.no_impute = True
        encoder.encode_records([blank])  # not refused: training saw the field blank
        assert encoder.keyless == frozenset({"zip"})
    # Frequent values beyond the cap keep the other column under --rare-values unseen.
    capped = pd.DataFrame({"x": np.arange(300, dtype=float), "c": [f"v{i % 6}" for i in range(300)],
                           "y": [0, 1, 1] * 100})
    cschema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(cschema, Encoding(max_categories=4, high_cardinality="onehot", rare_values="unseen")).fit(capped)
    part = pre.to_dict()["categorical"][0]
    assert len(part["categories"]) == 4 and len(part["other"]) == 2  # 50 rows each: not rare
    assert f"c={OTHER}" in pre.feature_names


def test_a_column_keeping_no_value_gets_no_never_held_warning_at_training() -> None:
    """Every test value of a column that keeps none is unseen by design (its note says it adds
    nothing): "100 % of the test split's rows hold a value the training split never held" beside
    it was a false alarm (a review, 2026-12-07)."""
    n = 400
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "iban": [f"DE{i:020d}" for i in range(n)],
                          "y": [0, 1, 0, 0] * (n // 4)})
    prepared = prepare(frame, target="y", categorical=["iban"])
    assert any("column 'iban': " in note and "its values are not stored" in note for note in prepared.schema.notes)
    assert not any("'iban'" in w and "never held" in w for w in prepared.split_notes())


def test_keyless_fields_are_those_listing_no_value_but_the_blank() -> None:
    """An older artifact listed every rare value under other: a value it does not list is new, so
    its column keeps the recoded-column warning; one listing nothing (or only the blank) keeps
    nothing and is counted, not warned of (a review, 2026-12-07). Both encoders agree."""
    from finlite._keys import MISSING

    n = 60
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "zip": [f"Z{i}" for i in range(n)],
                          "y": [0, 1, 0] * (n // 3)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("zip",))
    spec = Preprocessor(schema, Encoding(max_categories=1000)).fit(frame).to_dict()
    for other, keyless in (([], {"zip"}), ([MISSING], {"zip"}), (["Z1", "Z2"], set()), (["Z1", MISSING], set())):
        edited = json.loads(json.dumps(spec))
        edited["categorical"][0]["other"] = other
        edited["feature_names"] = ["x", *([f"zip={OTHER}"] if other else []), "zip=__unseen__"]
        assert Preprocessor.from_dict(edited).keyless == keyless == Encoder(edited).keyless, other


@pytest.mark.parametrize("scored_form", ["NFD", "NFC"])
def test_a_category_in_the_other_unicode_form_is_the_category_training_saw(scored_form: str) -> None:
    """A file from a Mac (decomposed accents) scored every category of a model trained on a
    Windows export (composed) as unseen: 151 of 1,000 decisions changed, exit 0 (an international
    walk-through, 2026-12-07). Every encoder finds the key in the other form (an alias, as
    "94110.0" is of 94110); a column trained with both forms keeps each."""
    import unicodedata

    import pyarrow as pa

    from finlite.runtime.encoder import Encoder

    trained_form = "NFC" if scored_form == "NFD" else "NFD"
    rng = np.random.default_rng(1)
    values = np.array(["épargne_0", "Bürge", "İmmobilie", "ıi_2", "住宅"])
    frame = pd.DataFrame({"kind": [unicodedata.normalize(trained_form, v) for v in rng.choice(values, 400)],
                          "amount": rng.integers(100, 5000, 400), "y": [0, 1] * 200})
    for encoding in (Encoding(min_category_count=1), Encoding(max_categories=2, min_category_count=1)):  # one-hot, WOE
        schema = infer_schema(frame, "y", categorical=["kind"])
        pre = Preprocessor(schema, encoding).fit(frame)
        other = frame.assign(kind=frame["kind"].map(lambda v: unicodedata.normalize(scored_form, v)))
        assert (other["kind"] != frame["kind"]).any()
        expected = pre.transform(frame)
        assert np.array_equal(pre.transform(other), expected)  # the training encoder
        encoder = Encoder(pre.to_dict())
        records, _ = encoder.encode_records(other.drop(columns="y").to_dict("records"))
        assert np.allclose(records, expected, atol=1e-6)  # the runtime's records
        arrow = pa.Table.from_pandas(other.drop(columns="y"), preserve_index=False)
        assert np.allclose(encoder.encode_arrow(arrow), expected, atol=1e-6)  # the runtime's Arrow path
        assert not encoder.prepare_arrow(arrow).unseen  # counted as seen, not unseen
