"""Every path that scores a row reads a hostile value alike: one record, a list of records, a small
and a large DataFrame (the record path, Arrow, the pandas Preprocessor), and a CSV or Parquet file
through ``finlite score``. A value one path refuses is refused by all, naming the column and the
row; none of them answers with a traceback or a guess (found by a review of the paths against
each other)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from finlite.cli import app
from finlite.data.preprocess import Preprocessor
from finlite.data.schema import Schema
from finlite.errors import DataError
from finlite.runtime import Encoder, Predictor, RecordErrors

runner = CliRunner()


def _fitted() -> tuple[Preprocessor, Encoder]:
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(schema).fit(pd.DataFrame({"x": [0.0, 1.0, 2.0, None], "c": ["a", "b", "a", None]}))
    return pre, Encoder(pre.to_dict())


def _score(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["score", *args, "-q"])
    return result.exit_code, " ".join(result.output.split())


# -- a column twice ----------------------------------------------------------------------------
def test_a_feature_column_named_twice_in_a_csv_is_refused_not_read_first(exported_dir: Path, german: pd.DataFrame,
                                                                        tmp_path: Path) -> None:
    # Arrow's reader took the first of the two; the score depended on the order of the columns.
    rows = german.head(6).drop(columns=["creditability"])
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    text = rows.to_csv(index=False).splitlines()
    src.write_text("\n".join([f"credit_amount,{text[0]}"] + [f"99999,{line}" for line in text[1:]]) + "\n")
    code, output = _score([str(exported_dir), str(src), "-o", str(out)])
    assert code == 2 and "column name(s) more than once: 'credit_amount'" in output, output
    assert not out.exists()


def test_a_feature_column_named_twice_in_parquet_or_a_frame_is_refused(exported_dir: Path, german: pd.DataFrame,
                                                                      tmp_path: Path) -> None:
    rows = german.head(6).drop(columns=["creditability"])
    table = pa.Table.from_pandas(rows, preserve_index=False)
    src, out = tmp_path / "book.parquet", tmp_path / "scores.parquet"
    pq.write_table(table.append_column("purpose", table.column("purpose")), src)
    code, output = _score([str(exported_dir), str(src), "-o", str(out)])
    assert code == 2 and "more than once: 'purpose'" in output, output
    predictor = Predictor(exported_dir)
    for frame in (pd.concat([rows, rows[["credit_amount"]]], axis=1), pd.concat([rows, rows[["purpose"]]], axis=1)):
        with pytest.raises(DataError, match=r"feature column name\(s\) more than once: '(credit_amount|purpose)'"):
            predictor.predict_score(frame)


# -- files Arrow cannot read as they are ---------------------------------------------------------
def test_bad_utf8_in_the_first_block_of_a_csv_exits_2(exported_dir: Path, german: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    rows = german.head(4).drop(columns=["creditability"])
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    raw = rows.to_csv(index=False).encode()
    first = raw.index(b"\n") + 1
    src.write_bytes(raw[:first] + b"\xff" + raw[first:])
    code, output = _score([str(exported_dir), str(src), "-o", str(out)])
    assert code == 2 and "Cannot read" in output and "book.csv" in output, output
    assert not out.exists()


def test_a_struct_category_column_in_parquet_is_named(exported_dir: Path, german: pd.DataFrame,
                                                      tmp_path: Path) -> None:
    rows = german.head(4).drop(columns=["creditability"])
    table = pa.Table.from_pandas(rows.drop(columns=["purpose"]), preserve_index=False)
    table = table.append_column("purpose", pa.array([{"a": 1}] * 4))
    src, out = tmp_path / "book.parquet", tmp_path / "scores.parquet"
    pq.write_table(table, src)
    code, output = _score([str(exported_dir), str(src), "-o", str(out)])
    assert code == 2 and "Categorical column 'purpose'" in output and "struct" in output, output
    # pandas' Interval column is an extension type over a struct: a bare KeyError before.
    rows.assign(purpose=pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3, 4])).to_parquet(src)
    code, output = _score([str(exported_dir), str(src), "-o", str(out), "--force"])
    assert code == 2 and "Categorical column 'purpose'" in output and "Traceback" not in output, output


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["nan", "NAN", " +nan ", "-NaN"])
def test_text_spelling_nan_is_refused_on_every_path(text: str) -> None:
    # pandas refused it in a DataFrame; the record and Arrow paths read it as a missing value.
    pre, encoder = _fitted()
    with pytest.raises(RecordErrors, match=rf"field 'x': expected a number, got the text {re.escape(repr(text))}"):
        encoder.encode_record({"x": text, "c": "a"})
    with pytest.raises(DataError, match=rf"'x' in b\.csv holds the text {re.escape(repr(text.strip()))} at row 2"):
        encoder.encode_arrow(pa.table({"x": ["1", text, None], "c": ["a", "a", "a"]}), source="b.csv")
    with pytest.raises(DataError, match=rf"'x' in b\.csv holds the text {re.escape(repr(text))} at row 2"):
        pre.transform(pd.DataFrame({"x": pd.Series(["1", text], dtype=object), "c": ["a", "a"]}), "b.csv")


def test_a_csv_missing_marker_is_still_missing_and_other_nan_text_exits_2(exported_dir: Path, german: pd.DataFrame,
                                                                         tmp_path: Path) -> None:
    rows = german.head(5).drop(columns=["creditability"]).astype({"credit_amount": object})
    predictor = Predictor(exported_dir)
    blank = rows.copy()
    blank.loc[1, "credit_amount"] = None
    expected = predictor.predict_score(blank)
    for marker, ok in (("nan", True), ("NA", True), ("", True), ("NAN", False)):
        src, out = tmp_path / f"book{len(marker)}{ok}.csv", tmp_path / f"scores{len(marker)}{ok}.csv"
        rows.loc[1, "credit_amount"] = marker
        rows.to_csv(src, index=False)
        code, output = _score([str(exported_dir), str(src), "-o", str(out)])
        if ok:  # the CSV readers' (pandas' and Arrow's) own missing markers
            assert code == 0, output
            np.testing.assert_allclose(pd.read_csv(out)["score"], expected, rtol=1e-6)
        else:
            assert code == 2 and "'credit_amount'" in output and "'NAN' at row 2" in output, output


@pytest.mark.parametrize(("value", "shown"), [(True, "the boolean True"), (b"1000", "bytes b'1000'")])
def test_a_boolean_or_bytes_among_numbers_is_refused_in_a_frame_as_in_a_record(exported_dir: Path,
                                                                               german: pd.DataFrame, value: Any,
                                                                               shown: str) -> None:
    # pandas read True as 1 and b"1000" as 1000 where the record path refuses both.
    predictor = Predictor(exported_dir)
    rows = german.head(6).drop(columns=["creditability"]).astype({"credit_amount": object})
    rows.loc[1, "credit_amount"] = value
    with pytest.raises(RecordErrors, match="record 1, field 'credit_amount': expected a number, got"):
        predictor.predict_score(rows.to_dict("records"))
    with pytest.raises(DataError, match=rf"'credit_amount' in the DataFrame holds {shown} at row 2"):
        predictor.predict_score(rows)


def test_a_csv_column_of_true_false_text_is_refused_with_the_fix(tmp_path: Path) -> None:
    """pandas reads a CSV column of nothing but True/False as booleans, so a model trained with
    --numeric on it holds 1/0; a file read in chunks cannot tell whether the whole column is such
    (a chunk-wise reading accepted or refused a mixed file by the chunk size: a review,
    2026-12-03), so the text is refused, saying how to score the file."""
    import pyarrow.csv as pacsv

    _, encoder = _fitted()
    csv = tmp_path / "flags.csv"
    csv.write_text("x,c\nTrue,a\nfalse,b\n")
    text = pacsv.ConvertOptions(column_types={"x": pa.string()})
    # x was learnt from 0 to 2: true/false is no such number, and 1/0 would score every value as 1.
    with pytest.raises(DataError, match=r"Numeric column 'x' in flags.csv holds the text 'True' at row 1 .*fix or "
                                        r"blank those values\. A number is needed there: the model learnt numbers from "
                                        r"0 to 2 for this column, so true/false is not what it reads"):
        encoder.encode_arrow(pacsv.read_csv(csv, convert_options=text), source="flags.csv")
    # A 0/1 flag: writing it as 1/0, or a boolean Parquet copy, is what the model reads.
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    flag = Encoder(Preprocessor(schema).fit(pd.DataFrame({"x": [0.0, 1.0, 1.0, None], "c": ["a", "b", "a", None]}))
                   .to_dict())
    with pytest.raises(DataError, match=r"A number is needed there: write the column as 1/0 .*"
                                        r"or score a Parquet copy whose column is boolean"):
        flag.encode_arrow(pacsv.read_csv(csv, convert_options=text), source="flags.csv")
    csv.write_text("x,c\nabc,a\n")
    with pytest.raises(DataError, match=r"'abc' at row 1 .*those values\.$"):
        encoder.encode_arrow(pacsv.read_csv(csv, convert_options=text), source="flags.csv")


@pytest.mark.parametrize("cell", [[1000], {"a": 1}, (1, 2), b"car (new)"], ids=["list", "dict", "tuple", "bytes"])
def test_a_cell_that_is_not_one_value_is_named_in_a_frame(exported_dir: Path, german: pd.DataFrame, cell: Any) -> None:
    # pandas raised TypeError (unhashable) from factorize; bytes were decoded as the category.
    predictor = Predictor(exported_dir)
    rows = german.head(6).drop(columns=["creditability"]).astype({"purpose": object, "credit_amount": object})
    for column in ("purpose", "credit_amount"):
        bad = rows.copy()
        bad.at[2, column] = cell
        with pytest.raises(DataError, match=rf"'{column}' in the DataFrame holds .* at row 3"):
            predictor.predict_score(bad)
        with pytest.raises(RecordErrors, match=rf"record 2, field '{column}': expected a"):
            predictor.predict_score(bad.to_dict("records"))
    with pytest.raises(DataError, match=r"Categorical column 'purpose' in .* has type binary"):
        predictor.encoder.encode_arrow(pa.Table.from_pandas(rows.astype({"purpose": bytes}), preserve_index=False))


def test_an_int_beyond_int64_in_a_frame_is_read_as_a_record_reads_it(exported_dir: Path,
                                                                      german: pd.DataFrame) -> None:
    # Arrow raised a raw OverflowError converting the frame.
    predictor = Predictor(exported_dir)
    rows = german.head(6).drop(columns=["creditability"]).astype({"credit_amount": object})
    rows.loc[1, "credit_amount"] = 2**64
    # Far beyond the training amounts (250 to 18,424): refused alike by both paths, naming it.
    for given in (rows, rows.to_dict("records")):
        with pytest.raises(DataError, match=r"credit_amount.*18446744073709551616.*far outside what the model was "
                                            r"trained on \(values 250 to 18424 in its training table"):
            predictor.predict_score(given)
    rows.loc[1, "credit_amount"] = 10**400
    with pytest.raises(DataError, match=r"'credit_amount' in the DataFrame holds .* at row 2, which is not a finite"):
        predictor.predict_score(rows)


@pytest.mark.parametrize("marker", [pd.NA, pd.NaT, np.nan, None], ids=["NA", "NaT", "nan", "None"])
def test_pandas_missing_markers_in_a_record_are_missing_as_in_a_frame(marker: Any) -> None:
    from decimal import Decimal

    pre, encoder = _fitted()
    # One field blank at a time: a record blank in every field is refused as an empty row.
    blank_x = pre.transform(pd.DataFrame({"x": [None], "c": pd.Series(["a"], dtype=object)}))[0]
    blank_c = pre.transform(pd.DataFrame({"x": [1.0], "c": pd.Series([None], dtype=object)}))[0]
    for value in (marker, Decimal("NaN")):
        np.testing.assert_array_equal(encoder.encode_record({"x": value, "c": "a"})[0], blank_x)
        np.testing.assert_array_equal(encoder.encode_record({"x": 1.0, "c": value})[0], blank_c)
        frame = pd.DataFrame({"x": pd.Series([value], dtype=object), "c": pd.Series(["a"], dtype=object)})
        np.testing.assert_array_equal(pre.transform(frame), blank_x[None, :])
        frame = pd.DataFrame({"x": pd.Series([1.0], dtype=object), "c": pd.Series([value], dtype=object)})
        np.testing.assert_array_equal(pre.transform(frame), blank_c[None, :])


# -- a boolean, however it is spelled --------------------------------------------------------------
def test_key_aliases_name_the_same_boolean_and_never_a_training_key() -> None:
    from finlite._keys import key_aliases, look_up

    flags = {"True", "False"}
    # "0.0" first: a whole number is also looked up as a float column's text of it (float_text).
    assert key_aliases("true", flags) == ["True", "TRUE", "1"]
    assert key_aliases("0", flags) == ["0.0", "False", "FALSE", "false"]
    assert key_aliases("94110.0", {"94110"}) == ["94110"] and key_aliases("maybe", flags) == []
    assert look_up({"True": 1, "true": 2}, "true") == 2  # a key trained as itself is never aliased
    assert look_up({"False": 5}, "FALSE") == 5 and look_up({"1": 7}, "True") == 7
    # In a column of codes (1 to 4), a boolean is no code: only its other spellings are aliases.
    codes = {"1": 0, "2": 1, "3": 2, "4": 3}
    assert key_aliases("true", codes) == ["True", "TRUE"] and look_up(codes, "True") is None
    assert look_up({**codes, "__missing__": 4}, "1") == 0 and look_up({"0": 0, "1": 1, "__unseen__": 2}, "true") == 1


def test_a_boolean_in_a_coded_column_is_unseen_on_every_path() -> None:
    """JSON true for a column coded 1 to 4 was scored as code 1; every encoder now calls it unseen."""
    from finlite.data.preprocess import Encoding

    frame = pd.DataFrame({"x": np.arange(80, dtype=float), "rate": np.tile([1, 2, 3, 4], 20),
                          "y": np.tile([0, 1], 40)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("rate",))
    pre = Preprocessor(schema, Encoding()).fit(frame)
    encoder = Encoder(pre.to_dict())
    rows = pd.DataFrame({"x": [1.0, 1.0], "rate": [True, 1]}, dtype=object)
    reference = pre.transform(rows)
    records, unseen = encoder.encode_records(rows.to_dict("records"))
    np.testing.assert_array_equal(records, reference)
    assert unseen[0] == ["rate"] and unseen[1] == []
    assert not np.array_equal(reference[0], reference[1])  # true is not code 1


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An exported student of a book whose `flag` column is written true/false: pandas reads it
    as booleans (keys True/False), Arrow and a DataFrame of text as the text."""
    import finlite
    from finlite.jobs.export import export_artifact
    from tests.conftest import FAST, make_loans

    folder = tmp_path_factory.mktemp("flag")
    book = make_loans(300)
    rng = np.random.default_rng(1)
    book["flag"] = np.where(rng.random(300) < 0.5, "true", "false")
    book.loc[(book.flag == "true") & (rng.random(300) < 0.6), "defaulted"] = book["defaulted"].iloc[0]
    book.to_csv(folder / "book.csv", index=False)
    finlite.train(folder / "book.csv", target="defaulted", hidden=(16,), config=FAST, out=folder / "m",
                  categorical=["flag"])
    export_artifact(folder / "m", folder / "book.csv")
    return folder / "m", folder / "book.csv"


def test_a_boolean_column_scores_alike_however_it_is_spelled(flagged: tuple[Path, Path], tmp_path: Path) -> None:
    # Before: 'finlite score' (Arrow reads the text "true") and a DataFrame of the text or of 1/0
    # all scored the flag as an unseen category, while evaluate (pandas reads a boolean) did not:
    # the same file flipped 22 of 300 decisions between commands, with exit 0.
    import finlite
    from finlite.runtime.batch import score_file

    model, book = flagged
    predictor = Predictor(model)
    read = pd.read_csv(book).drop(columns="defaulted")
    assert read["flag"].dtype == bool
    reference = predictor.predict_score(read)
    text = read.assign(flag=np.where(read["flag"], "true", "false"))
    score_file(predictor, book, tmp_path / "s.csv")
    spellings = {
        "finlite score (Arrow, text)": pd.read_csv(tmp_path / "s.csv")["score"].to_numpy(),
        "DataFrame of text": predictor.predict_score(text),
        "DataFrame of TRUE/FALSE": predictor.predict_score(text.assign(flag=text["flag"].str.upper())),
        "DataFrame of 1/0": predictor.predict_score(read.assign(flag=read["flag"].astype(int))),
        "a few rows of 1/0": predictor.predict_score(read.head(3).assign(flag=read["flag"].head(3).astype(int))),
        "records of text": np.array([predictor.score_record(r) for r in text.head(20).to_dict("records")]),
        "the torch artifact, text": finlite.load(model).predict_score(text),
    }
    for name, scores in spellings.items():
        np.testing.assert_allclose(scores, reference[:len(scores)], atol=1e-6, err_msg=name)


def test_an_alias_resolves_alike_in_a_weight_of_evidence_column_with_rare_values() -> None:
    # "1" is kept and "true" is rare (the default): "TRUE" is "true"'s spelling first, so it is the
    # default on every path. pandas resolved aliases against the kept values only and gave "1"'s WOE.
    from finlite.data.preprocess import Encoding

    values = ["1"] * 40 + ["0"] * 40 + ["a", "b", "c", "true"]
    frame = pd.DataFrame({"x": np.arange(len(values), dtype=float), "c": values,
                          "y": [1] * 30 + [0] * 10 + [1] * 10 + [0] * 30 + [1, 0, 1, 0]})  # "1" is mostly bad
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(schema, Encoding(max_categories=2, min_category_count=5, high_cardinality="woe")).fit(frame)
    spec = pre.to_dict()
    assert spec["categorical"][0]["encoding"] == "woe" and "true" in spec["categorical"][0]["other"]
    encoder = Encoder(spec)
    rows = pd.DataFrame({"x": [1.0] * 4, "c": ["TRUE", "True", "1", "zzz"]})
    reference = pre.transform(rows)
    np.testing.assert_array_equal(encoder.encode_records(rows.to_dict("records"))[0], reference)
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(rows, preserve_index=False)), reference)
    woe_col = pre.feature_names.index("c__woe")
    assert reference[0, woe_col] == reference[3, woe_col] != reference[2, woe_col]  # TRUE: the default, not "1"'s


def test_large_integer_codes_score_alike_in_a_few_rows_and_in_many(tmp_path: Path) -> None:
    """A frame of at most four rows was read row by row (frame.iloc[i]); with every column a
    number and one a float, the row is one float64 Series, so a merchant id above 2**53 came out
    as another real training code: 150 of 1,000 decisions differed from the same rows in bulk."""
    import finlite
    from finlite.jobs.export import export_artifact
    from tests.conftest import FAST

    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"amount": rng.normal(size=n), "age": rng.integers(20, 70, n).astype(float),
                          "merchant_id": 2**60 + np.arange(n) % 5})
    frame["bad"] = ((frame["merchant_id"] - 2**60) % 2 == 0).astype(int) ^ (rng.random(n) < 0.1)
    finlite.train(frame, target="bad", categorical=["merchant_id"], hidden=(8,), config=FAST, out=tmp_path / "m")
    export_artifact(tmp_path / "m", frame)
    predictor = Predictor(tmp_path / "m")
    x = frame.drop(columns="bad")
    bulk = predictor.predict_score(x)
    few = np.concatenate([predictor.predict_score(x.iloc[i:i + 4]) for i in range(0, n, 4)])
    one = np.array([predictor.score_record(r) for r in x.head(20).to_dict("records")])
    np.testing.assert_allclose(few, bulk, atol=1e-6)
    np.testing.assert_allclose(one, bulk[:20], atol=1e-6)


# -- far outside the training range --------------------------------------------------------------
def test_a_value_far_outside_the_training_range_is_refused_by_every_path(exported_dir: Path,
                                                                           german: pd.DataFrame,
                                                                           tmp_path: Path) -> None:
    """V14 = -1e6 (1e5 standard deviations out) was scored: the student said 0.0, the teacher 0.07,
    and nothing said why (a fraud engineer's walk-through, 2026-12-03). Training amounts run from
    250 to 18,424: finlite scores up to 10 widths of that range either side."""
    from finlite._finite import training_span

    low, high = training_span(250.0, 18424.0, 1.0)
    assert (low, high) == (250.0 - 10 * 18424.0, 18424.0 + 10 * 18424.0)  # the width: the largest magnitude
    predictor = Predictor(exported_dir)
    rows = german.head(5).drop(columns=["creditability"]).reset_index(drop=True).astype({"credit_amount": float})
    far = r"far outside what the model was trained on \(values 250 to 18424 in its training table; finlite scores -183990 to 202664"
    for value, accepted in ((high, True), (low, True), (-1e6, False), (high * 1.001, False)):
        rows.loc[2, "credit_amount"] = value
        if accepted:
            assert np.isfinite(predictor.predict_score(rows)).all()
            continue
        with pytest.raises(RecordErrors, match=rf"record 2, field 'credit_amount': the number .* lies {far}"):
            predictor.predict_score(rows.to_dict("records"))
        with pytest.raises(DataError, match=rf"'credit_amount' in the DataFrame holds .* at row 3, {far}"):
            predictor.predict_score(rows)
        rows.to_csv(tmp_path / "far.csv", index=False)
        code, output = _score([str(exported_dir), str(tmp_path / "far.csv"), "-o", str(tmp_path / "s.csv")])
        assert code == 2 and re.search(r"'credit_amount' in .*far\.csv holds .* at row 3, far outside", output)
        assert not (tmp_path / "s.csv").exists()
    # A preprocessor.json written before the training range was recorded scores as it did.
    pre, _ = _fitted()
    old = pre.to_dict()
    for item in old["numeric"]:
        item.pop("low"), item.pop("high")
    assert Encoder(old).encode_record({"x": 1e6, "c": "a"})[0][0] == pytest.approx((1e6 - 1.0) / pre.numeric_[0].std)
    with pytest.raises(RecordErrors, match=r"values 0 to 2 in its training table; finlite scores -20 to 22"):
        Encoder(pre.to_dict()).encode_record({"x": 1e6, "c": "a"})


# The last: a median (1.0 here, what imputes a gap) outside the range made the paths disagree (a review).
@pytest.mark.parametrize(("low", "high"), [(3.0, 1.0), (float("nan"), 1.0), (0.0, 1e39), ("0", 1.0), (1.5, 2.0)])
def test_a_forged_training_range_is_refused(low: Any, high: Any) -> None:
    pre, _ = _fitted()
    spec = pre.to_dict()
    spec["numeric"][0].update(low=low, high=high)
    with pytest.raises(DataError, match=r"numeric field 'x' has training range .* not two finite float32 numbers"):
        Encoder(spec)


def test_a_whale_in_the_test_split_trains_and_bounds_the_range(tmp_path: Path) -> None:
    """One amount of 5e6 among amounts near 1,000, drawn into a hold-out split, was refused as "far
    outside what the model was trained on": train exited 2 on seeds 0, 1 and 3 (a review, 2026-12-03).
    The range recorded covers every row of the training table."""
    import finlite

    rng = np.random.default_rng(0)
    book = pd.DataFrame({"amount": rng.lognormal(7.0, 0.5, 500), "grade": rng.choice(["a", "b"], 500),
                         "bad": rng.integers(0, 2, 500)})
    book.loc[7, "amount"] = 5e6
    book.to_csv(tmp_path / "whale.csv", index=False)
    for seed in range(4):
        out = tmp_path / f"t{seed}"
        finlite.train(tmp_path / "whale.csv", target="bad", model="logistic", seed=seed, out=out,
                      progress=False)
        (amount,) = [d for d in finlite.load(out).tabular.to_dict()["numeric"] if d["name"] == "amount"]
        assert (amount["low"], amount["high"]) == (float(book["amount"].min()), 5e6)


def test_the_reason_for_a_refused_number_does_not_depend_on_how_it_was_written() -> None:
    """Text "3e38" in a column of scale 0.01 was "far outside the training range" in pandas and Arrow and
    "standardised it overflows" in the record path; as a float, "overflows" everywhere (a review)."""
    pre, _ = _fitted()
    spec = pre.to_dict()
    spec["numeric"][0].update(std=0.01)
    encoder = Encoder(spec)
    for written in ("3e38", 3e38):
        with pytest.raises(RecordErrors, match=r"standardised it overflows"):
            encoder.encode_record({"x": written, "c": "a"})
        frame = pd.DataFrame({"x": pd.Series([written], dtype=object), "c": ["a"]})
        with pytest.raises(DataError, match=r"standardised it overflows"):
            Preprocessor.from_dict(spec).transform(frame)
        with pytest.raises(DataError, match=r"standardised it overflows"):
            encoder.encode_arrow(pa.table({"x": pa.array([str(written)]), "c": ["a"]}))


@pytest.mark.parametrize("kind", ["timestamp", "date"])
def test_a_date_in_a_categorical_column_is_refused_not_scored_as_unseen(exported_dir: Path, german: pd.DataFrame,
                                                                        tmp_path: Path, kind: str) -> None:
    # Training never took a date there (its categories are codes such as 'A43'), so every row
    # scored as an unseen category, with a warning only (a review, 2026-12-04). Judged from the
    # type and the training keys: the same in every chunk, with nulls or without, on every path.
    from finlite.runtime.batch import score_file

    rows = german.head(30).drop(columns=["creditability"])
    dates = pd.Series(pd.date_range("2024-01-01", periods=len(rows), freq="D"))
    rows["purpose"] = dates if kind == "timestamp" else dates.dt.date
    rows.loc[5:, "purpose"] = None  # mostly null: still the wrong column
    src, out = tmp_path / "book.parquet", tmp_path / "scores.csv"
    rows.to_parquet(src, index=False)
    predictor = Predictor(exported_dir)
    for chunk in (7, 1000):
        with pytest.raises(DataError, match=r"Categorical column 'purpose' in .*book\.parquet has type (timestamp|date32)"
                                            r".*, a date or time, but the model was trained on categories \(such as "
                                            r"'radio/television'.*\) that no date or time reads as"):
            score_file(predictor, src, out, chunk_rows=chunk)
    assert not out.exists()
    for frame in (rows, rows.head(3)):  # the Arrow route, and the training encoder's (small frames)
        with pytest.raises(DataError, match=r"Categorical column 'purpose' in the DataFrame has type .*a date or time"):
            predictor.predict_score(frame)


def test_a_model_trained_on_date_text_scores_parquet_dates(german: pd.DataFrame, tmp_path: Path) -> None:
    # The refusal above must not touch a model whose categories are dates: its keys are date text,
    # which a Parquet date reads as.
    import finlite
    from finlite.runtime.batch import score_file
    from finlite.training.loop import TrainConfig

    frame = german.head(300).copy()
    frame["opened"] = [f"2024-0{1 + i % 3}-01" for i in range(len(frame))]
    frame.to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "model"
    finlite.train(tmp_path / "train.csv", target="creditability", categorical=["opened"], hidden=(8,),
                  config=TrainConfig(epochs=2, progress=False), out=out)
    from finlite.jobs.export import export_artifact

    export_artifact(out, tmp_path / "train.csv")
    book = frame.drop(columns=["creditability"]).head(40)
    expected = Predictor(out).predict_score(book)  # the dates as the text the model was trained on
    # Parquet dates, and timestamps at midnight (Arrow's text of one is '2024-01-01 00:00:00',
    # which scored as unseen: a review, 2026-12-04), through the file and the DataFrame paths alike.
    for kind in ("date", "timestamp"):
        typed = book.copy()
        stamps = pd.to_datetime(typed["opened"])
        typed["opened"] = stamps.dt.date if kind == "date" else stamps
        typed.to_parquet(tmp_path / "book.parquet", index=False)
        for chunk in (7, 1000):
            summary = score_file(Predictor(out), tmp_path / "book.parquet", tmp_path / f"{kind}{chunk}.csv",
                                 chunk_rows=chunk)
            assert summary.rows == 40 and not summary.unseen, summary.unseen
            scored = pd.read_csv(tmp_path / f"{kind}{chunk}.csv")["score"].to_numpy()
            np.testing.assert_allclose(scored, expected, atol=1e-6)
        np.testing.assert_allclose(Predictor(out).predict_score(typed), expected, atol=1e-6)
        np.testing.assert_allclose(Predictor(out).predict_score(typed.head(3)), expected[:3], atol=1e-6)


@pytest.mark.parametrize("high", ["woe", "onehot"])
def test_codes_trained_as_a_floats_text_are_found_from_the_number(high: str) -> None:
    """A zip column with gaps and a text code ("UNKNOWN") reaches training as text, "94110.0":
    the number 94110 (an int or float column, Parquet, a record), and its text "94110", were
    scored as unseen on every path, taking the prior (a validator's review, 2026-12-05)."""
    from finlite.data.preprocess import Encoding

    rng = np.random.default_rng(0)
    n = 3_000
    zips = rng.integers(94_100, 94_200, n)  # 100 codes: Arrow's large-dictionary paths too
    text = np.where(rng.random(n) < 0.05, "UNKNOWN", np.char.add(zips.astype(str), ".0")).astype(object)
    frame = pd.DataFrame({"x": rng.normal(size=n), "zip": text,
                          "y": (rng.random(n) < np.where(zips % 2 == 0, 0.4, 0.1)).astype(int)})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("zip",))
    pre = Preprocessor(schema, Encoding(max_categories=200 if high == "onehot" else 20, high_cardinality=high,
                                        min_category_count=1)).fit(frame)
    encoder = Encoder(pre.to_dict())
    codes = np.tile(np.arange(94_100, 94_200), 2)  # over 64 distinct values: the integer-key table too
    as_text = pd.DataFrame({"x": 0.0, "zip": [f"{c}.0" for c in codes]})
    reference = pre.transform(as_text)  # the keys as trained
    assert not np.array_equal(reference[0], reference[1])  # the codes are told apart, not all the prior
    ways = {"int": pd.DataFrame({"x": 0.0, "zip": codes}),
            "float": pd.DataFrame({"x": 0.0, "zip": codes.astype(float)}),
            "text": pd.DataFrame({"x": 0.0, "zip": codes.astype(str).astype(object)}),
            # Other spellings of the number chain through its numeric alias (the number found the
            # key and "94110.00" did not: finlite score and the Predictor disagreed on one file).
            "two decimals": pd.DataFrame({"x": 0.0, "zip": [f"{c}.00" for c in codes]}),
            "exponent": pd.DataFrame({"x": 0.0, "zip": [f"{c / 1e4}e4" for c in codes]})}
    for name, rows in ways.items():
        np.testing.assert_array_equal(pre.transform(rows), reference, err_msg=f"pandas, {name}")
        np.testing.assert_array_equal(encoder.encode_records(rows.to_dict("records"))[0], reference,
                                      err_msg=f"records, {name}")
        table = pa.Table.from_pandas(rows, preserve_index=False)
        np.testing.assert_array_equal(encoder.encode_arrow(table), reference, err_msg=f"Arrow, {name}")
        dictionary = pa.table({"x": table["x"], "zip": table["zip"].dictionary_encode()})
        np.testing.assert_array_equal(encoder.encode_arrow(dictionary), reference, err_msg=f"Arrow dict, {name}")
    # The text "94110.0" still reads as trained, and a code training never saw is still unseen.
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(as_text, preserve_index=False)), reference)
    unseen = pd.DataFrame({"x": [0.0], "zip": [99_999]})
    np.testing.assert_array_equal(encoder.encode_records(unseen.to_dict("records"))[0],
                                  pre.transform(pd.DataFrame({"x": [0.0], "zip": ["never"]})))


def test_whole_numbers_beyond_a_floats_precision_alias_only_their_own_key() -> None:
    """Through a float, 2**62 + 1 read as 2**62's training key: another code's column (a review,
    2026-12-05). Aliases take the integer's exact text, on every path."""
    from finlite._keys import key_aliases

    big = 2**62
    assert key_aliases(str(big + 1), ()) == [f"{big + 1}.0"]
    assert key_aliases(f"0{big + 1}", ()) == [str(big + 1), f"{big + 1}.0"]
    assert key_aliases("1" * 5000, ())[0] == "inf"  # more digits than Python converts: no code, no error
    keys = [f"{big + 1}.0", f"{big}.0", "x"] * 10
    frame = pd.DataFrame({"x": np.arange(30, dtype=float), "c": keys, "y": [1, 0] * 15})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(schema).fit(frame)
    encoder = Encoder(pre.to_dict())
    rows = pd.DataFrame({"x": [1.0, 1.0, 1.0], "c": [big + 1, big, big + 3]})
    reference = pre.transform(pd.DataFrame({"x": [1.0] * 3, "c": [f"{big + 1}.0", f"{big}.0", "never"]}))
    assert not np.array_equal(reference[0], reference[1])
    np.testing.assert_array_equal(pre.transform(rows), reference)
    np.testing.assert_array_equal(encoder.encode_records(rows.to_dict("records"))[0], reference)
    table = pa.table({"x": [1.0] * 3, "c": pa.array([big + 1, big, big + 3], type=pa.int64())})
    np.testing.assert_array_equal(encoder.encode_arrow(table), reference)
    as_text = pa.table({"x": [1.0] * 3, "c": [str(big + 1), str(big), str(big + 3)]})
    np.testing.assert_array_equal(encoder.encode_arrow(as_text), reference)


def test_one_point_zero_is_true_in_a_column_trained_on_booleans() -> None:
    """The float 1.0 read as True and the text "1.0" as unseen: the text now chains to "1" too."""
    frame = pd.DataFrame({"x": np.arange(40, dtype=float), "c": [True, False] * 20, "y": [1, 0, 0, 1] * 10})
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(schema).fit(frame)
    encoder = Encoder(pre.to_dict())
    reference = pre.transform(pd.DataFrame({"x": [1.0, 1.0], "c": [True, False]}))
    for values in ([1.0, 0.0], ["1.0", "0.0"], ["1", "0"], ["true", "FALSE"]):
        rows = pd.DataFrame({"x": [1.0, 1.0], "c": pd.Series(values, dtype=object)})
        np.testing.assert_array_equal(pre.transform(rows), reference, err_msg=str(values))
        np.testing.assert_array_equal(encoder.encode_records(rows.to_dict("records"))[0], reference, err_msg=str(values))
        np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(rows, preserve_index=False)), reference,
                                      err_msg=str(values))
