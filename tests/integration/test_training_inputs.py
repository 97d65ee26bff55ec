"""Training reads a table as scoring will: the same missing markers, one order for slash dates, a
column named once, each column in one role, and an out-of-time split that is one (found by a
review of the training path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas._libs.parsers import STR_NA_VALUES
from typer.testing import CliRunner

from finlite._keys import CSV_MISSING
from finlite.cli import app
from finlite.data.io import read_table
from finlite.data.schema import infer_schema, parse_dates
from finlite.data.split import SplitConfig, make_split
from finlite.errors import DataError
from finlite.runtime import Predictor

runner = CliRunner()


def _book(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "grade": rng.choice(["A", "B", "C"], n),
                         "bad": (rng.random(n) < 0.3).astype(int)})


def test_day_first_dates_are_read_in_one_order_and_the_split_is_out_of_time() -> None:
    # pandas' mixed parsing read 13/01 day first and 02/01 month first: 173 training loans were
    # later than the first test loan.
    book = _book()
    book["dt"] = pd.date_range("2020-01-01", periods=len(book)).strftime("%d/%m/%Y")
    dates = parse_dates(book["dt"], "dt", "book.csv")
    assert (dates.diff().dropna() == pd.Timedelta(days=1)).all()
    split = make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="dt"), source="book.csv")
    assert dates.iloc[split.train].max() < dates.iloc[split.test].min()
    with pytest.raises(DataError, match=r"mixes day/month/year \('13/01/2020'\) and month/day/year \('01/13/2020'\)"):
        parse_dates(pd.Series(["13/01/2020", "01/13/2020"]), "dt", "book.csv")


@pytest.mark.parametrize("form", ["%d.%m.%Y", "%d-%m-%Y", "%d.%m.%y", "%m-%d-%Y"])
def test_dotted_and_dashed_dates_are_read_in_one_order_too(form: str) -> None:
    """German "12.09.2021" read as 9 December beside "13.09.2021" as 13 September, and the test
    split ran past the data's last day (a data engineer's walk-through, 2026-12-06)."""
    days = pd.date_range("2019-01-01", periods=1000)
    dates = parse_dates(pd.Series(days.strftime(form)), "app_date", "book.csv")
    assert (dates.to_numpy() == days.to_numpy()).all()
    # No date tells the order (every day at most 12): dots read day first, dashes and slashes month first.
    assert parse_dates(pd.Series(["05.03.2021"]), "d", "b.csv")[0] == pd.Timestamp("2021-03-05")
    assert parse_dates(pd.Series(["05-03-2021"]), "d", "b.csv")[0] == pd.Timestamp("2021-05-03")
    assert parse_dates(pd.Series(["05/03/2021"]), "d", "b.csv")[0] == pd.Timestamp("2021-05-03")
    with pytest.raises(DataError, match=r"mixes day\.month\.year \('13\.01\.2020'\) and month\.day\.year"):
        parse_dates(pd.Series(["13.01.2020", "01.13.2020"]), "dt", "book.csv")


def test_dates_with_a_utc_offset_split_by_the_time_as_written(tmp_path: Path) -> None:
    """"2015-01-01T00:00:00+05:00" (one offset, or several, or some rows without one) made the
    column zone-aware and the split crashed with a TypeError traceback; the offset is dropped."""
    book = _book()
    days = pd.date_range("2015-01-01", periods=len(book)).strftime("%Y-%m-%dT00:00:00")
    offsets = np.array(["+05:00", "-08:00", "Z", ""])[np.arange(len(book)) % 4]
    book["dt"] = [d + o for d, o in zip(days, offsets, strict=True)]
    dates = parse_dates(book["dt"], "dt", "book.csv")
    assert dates.dt.tz is None and (dates.diff().dropna() == pd.Timedelta(days=1)).all()
    split = make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="dt"), source="book.csv")
    assert dates.iloc[split.train].max() < dates.iloc[split.test].min()
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    result = runner.invoke(app, ["train", str(path), "--target", "bad", "--date-column", "dt", "--epochs", "1",
                                 "--out", str(tmp_path / "t"), "--quiet"])
    assert result.exit_code == 0, result.output


def test_an_out_of_time_split_on_one_date_is_refused() -> None:
    book = _book().assign(dt="2020-01-01")
    with pytest.raises(DataError, match=r"holds one date in every row \(2020-01-01\)"):
        make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="dt"), source="book.csv")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path, suffix: str) -> None:
    # pandas renamed the second "x.1" and trained on both; scoring refuses the same file.
    path = tmp_path / f"book{suffix}"
    _book().to_csv(path, index=False)
    text = pd.read_csv(path).rename(columns={"grade": "x"})
    text.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"names the column\(s\) 'x' more than once in its header"):
        read_table(path)


@pytest.mark.parametrize(("options", "message"), [
    ({"numeric": ["bad"]}, r"'bad' is the target and is also named in numeric"),
    ({"drop": ["bad"]}, r"'bad' is the target and is also named in drop"),
    ({"numeric": ["x"], "categorical": ["x"]}, r"'x' named in both numeric and categorical"),
    ({"categorical": ["grade"], "drop": ["grade"]}, r"'grade' named in both categorical and drop"),
])
def test_a_column_named_for_two_roles_is_refused(options: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        infer_schema(_book(), "bad", **options)


def test_scoring_reads_the_missing_markers_training_read(exported_dir: Path, german: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    # Arrow's list lacked "None" and "<NA>": such a category was unseen in `finlite score` and
    # missing in training and in the Predictor (scores differed by up to 0.02, exit 0).
    assert set(CSV_MISSING) == set(STR_NA_VALUES)
    rows = german.head(40).drop(columns=["creditability"]).astype({"purpose": object})
    rows.loc[::3, "purpose"] = "None"
    rows.loc[1::3, "purpose"] = "<NA>"
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    rows.to_csv(src, index=False)
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    expected = Predictor(exported_dir).predict_score(pd.read_csv(src))
    np.testing.assert_allclose(pd.read_csv(out)["score"], expected, rtol=1e-6)
    # What the scoring reader hands the encoder: those cells are missing, as pandas read them.
    from finlite.runtime.batch import _batches

    batches, _, _ = _batches(src, "csv", ["purpose"], [], 1 << 16, ["purpose"])
    column = next(batches).column("purpose")
    assert column.null_count == int(pd.read_csv(src)["purpose"].isna().sum()) > 0


# -- DataFrames given to the Python API (found by a review of DataFrame inputs) -----------------------
def _with(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize(("edit", "message"), [
    # Each was a KeyError, TypeError, ValueError or decimal.InvalidOperation traceback.
    (lambda f: f.rename(columns={"x": 5}), r"Column name 5 of the DataFrame is of type int, not text"),
    (lambda f: pd.concat([f, f[["grade"]]], axis=1), r"Column 'grade' appears more than once in the DataFrame"),
    (lambda f: f.set_axis(pd.MultiIndex.from_tuples([(c, "v") for c in f.columns]), axis=1),
     r"The columns of the DataFrame have 2 levels; finlite reads flat tables"),
    (lambda f: _with(f, "x", 3, __import__("decimal").Decimal("sNaN")),
     r"Column 'x' of the DataFrame holds a signalling NaN \(Decimal\('sNaN'\)\) at row 4, which"),
    # Read as its real part before, in training and in scoring alike (5+1e6j trained as 5).
    (lambda f: _with(f, "x", 1, 5 + 1e6j), r"Column 'x' in .* holds complex \(5\+1000000j\) at row 2; the model needs "
                                           r"one real number"),
])
def test_a_dataframe_a_file_could_not_hold_is_refused_by_name(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    from finlite.data import prepare

    with pytest.raises(DataError, match=message):
        prepare(edit(_book()), target="bad")


def test_the_target_is_named_by_text() -> None:
    with pytest.raises(DataError, match=r"target must name the label column as text; got 5 \(int\)"):
        infer_schema(_book(), 5)  # type: ignore[arg-type]


def test_scoring_refuses_a_complex_number_and_multi_level_columns(exported_dir: Path, german: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    rows = german.drop(columns="creditability").head(3)
    with pytest.raises(DataError, match=r"holds complex \(5\+1000000j\)"):
        predictor.predict_score(_with(rows, "credit_amount", 1, 5 + 1e6j))
    levels = rows.set_axis(pd.MultiIndex.from_tuples([(c, "v") for c in rows.columns]), axis=1)
    with pytest.raises(DataError, match="The columns of the DataFrame have 2 levels"):
        predictor.predict_score(levels)
    # The torch artifact says the same (it said "lacks 20 column(s)").
    import finlite

    with pytest.raises(DataError, match="The columns of the scoring data have 2 levels; give one name per column"):
        finlite.load(exported_dir).predict_score(levels)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_csv_row_cut_short_is_refused_naming_its_line(tmp_path: Path, suffix: str) -> None:
    """pandas filled a short row's missing fields with nothing and train imputed them without a
    word, while score refused the same file; now train refuses it too, naming the line."""
    path = tmp_path / f"book{suffix}"
    lines = _book(40).to_csv(index=False).splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0]  # data row 7 loses its last field
    lines.insert(3, "")  # a blank line before it, which the reader skips and the line number counts
    text = "\n".join(lines) + "\n"
    if suffix == ".csv.gz":
        import gzip

        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(DataError, match=r"has a row of 2 fields at line 9 where the header names 3 columns"):
        read_table(path)
    result = runner.invoke(app, ["train", str(path), "--target", "bad", "--epochs", "1", "--out", str(tmp_path / "t"),
                                 "--quiet"])
    assert result.exit_code == 2 and "line 9" in result.output and "Traceback" not in result.output
    # A quoted line break inside a field is no short row.
    quoted = tmp_path / "quoted.csv"
    book = _book(40)
    book.loc[5, "grade"] = "A\nB"
    book.to_csv(quoted, index=False)
    assert read_table(quoted).frame.shape == (40, 3)


def test_csv_forms_pandas_reads_are_still_read(tmp_path: Path) -> None:
    """Arrow counts fields unlike pandas in two cases, which must not be refused as short rows: a
    space before a quoted field holding the separator, and lines of spaces. Rows of one field more
    than the header (pandas would take the first field as row labels) are refused."""
    cases = {"spaces.csv": ("a,b\n1,2\n   \n3,\n  \n", {"a": [1, 3], "b": [2.0, None]})}
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        frame = read_table(tmp_path / name).frame
        assert frame.astype(object).where(frame.notna(), None).to_dict("list") == expected, name
    # A space after the separator is refused (2026-12-06): pandas trimmed it where finlite score
    # (Arrow) keeps it, so the same file could not be scored.
    (tmp_path / "space_quote.csv").write_text('a, b\n1, "x,y"\n2,\n')
    with pytest.raises(DataError, match=r"has a space before a name in its header \(' b'\): finlite score reads"):
        read_table(tmp_path / "space_quote.csv")
    # A quoted name with a space is read alike by both readers: kept. A first name or a tab-separated
    # one with a space before it is not (a review, 2026-12-06).
    (tmp_path / "quoted.csv").write_text('a," b",c\n1,2,3\n')
    assert list(read_table(tmp_path / "quoted.csv").frame.columns) == ["a", " b", "c"]
    for name, text in (("first.csv", " a,b\n1,2\n"), ("tabs.tsv", "a\t b\n1\t2\n")):
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=r"has a space before a name in its header"):
            read_table(tmp_path / name)
    (tmp_path / "labels.csv").write_text("a,b\nx,2,3\ny,5,6\n")
    with pytest.raises(DataError, match="rows of more fields than its header names columns"):
        read_table(tmp_path / "labels.csv")


def test_text_columns_keep_the_other_columns_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("date,id,close,volume\n2016-01-01,NA,1,NA\n2016-01-02,001,2,\n2016-01-03, 7 ,null,5\n")
    frame = read_table(path, text_columns=["id"]).frame
    assert frame["id"].tolist() == ["NA", "001", "7 "]  # as written (the price reader strips spaces)
    assert frame["close"].isna().tolist() == [False, False, True]
    assert frame["volume"].isna().tolist() == [True, True, False]
    plain = read_table(path).frame
    assert frame.drop(columns="id").equals(plain.drop(columns="id"))
    # A header pandas names otherwise (an empty name: "Unnamed: 3") is read as usual.
    path.write_text("date,id,close,\n2016-01-01,NA,1,\n2016-01-02,001,2,x\n")
    assert read_table(path, text_columns=["id"]).frame["Unnamed: 3"].isna().tolist() == [True, False]


def test_durations_and_periods_are_refused_naming_the_column() -> None:
    """A timedelta column was trained as a category of its text ("360 days"), and scored as an
    unseen one from a record holding a Timedelta; it is refused with the way to write it."""
    from finlite.data.schema import infer_schema

    book = _book(60)
    book["term"] = pd.to_timedelta(np.arange(60) * 30, unit="D")
    with pytest.raises(DataError, match=r"'term' in book.csv holds durations \(timedelta\).*\.dt\.days"):
        infer_schema(book, "bad", source="book.csv")
    book["term"] = pd.period_range("2000-01", periods=60, freq="M")
    with pytest.raises(DataError, match=r"'term' in book.csv holds periods.*to_timestamp"):
        infer_schema(book, "bad", source="book.csv")


def test_a_column_labelled_by_a_number_is_named_not_a_key_error(tmp_path: Path) -> None:
    """A model with a feature named '5' scored a frame whose label is the int 5: the schema check
    compared the printed labels and passed, then the lookup raised a raw KeyError."""
    import finlite
    from finlite.jobs.export import export_artifact
    from tests.conftest import FAST

    book = _book(200).rename(columns={"x": "5"})
    finlite.train(book, target="bad", hidden=(8,), config=FAST, out=tmp_path / "m")
    export_artifact(tmp_path / "m", book)
    renamed = book.drop(columns="bad").rename(columns={"5": 5})
    for score in (Predictor(tmp_path / "m").predict_score, finlite.load(tmp_path / "m").predict_score):
        for rows in (2, 100):
            with pytest.raises(DataError, match=r"labels the column '5' with the int 5.*df.columns.astype\(str\)"):
                score(renamed.head(rows))


def test_cells_that_are_not_one_value_are_named_below_the_first_row(tmp_path: Path) -> None:
    """A dict below the first row reached pandas' hashing as a raw TypeError; Arrow-typed lists,
    structs and bytes were scored as text (bytes) or failed inside pyarrow (lists)."""
    import pyarrow as pa

    import finlite
    from finlite.data.schema import infer_schema
    from finlite.jobs.export import export_artifact
    from tests.conftest import FAST

    book = _book(60)
    book["grade"] = book["grade"].astype(object)
    book.at[40, "grade"] = {"a": 1}
    with pytest.raises(DataError, match=r"'grade' in book.csv holds dict \{'a': 1\} at row 41"):
        infer_schema(book, "bad", source="book.csv")
    listed = _book(60).assign(tags=pd.Series([["a"]] * 60, dtype=pd.ArrowDtype(pa.list_(pa.string()))))
    with pytest.raises(DataError, match=r"'tags' in book.csv holds nested values \(Arrow type list"):
        infer_schema(listed, "bad", source="book.csv")
    # Scoring: bytes in a category column and in a numeric one, on every DataFrame path.
    model = tmp_path / "m"
    finlite.train(_book(200), target="bad", hidden=(8,), config=FAST, out=model)
    export_artifact(model, _book(200))
    rows = _book(200).drop(columns="bad")
    as_bytes = {"grade": rows.assign(grade=pd.Series([g.encode() for g in rows["grade"]],
                                                     dtype=pd.ArrowDtype(pa.binary()))),
                "x": rows.assign(x=pd.Series([str(v).encode() for v in rows["x"]], dtype=pd.ArrowDtype(pa.binary())))}
    for column, frame in as_bytes.items():
        for score in (Predictor(model).predict_score, finlite.load(model).predict_score):
            for n in (2, 100):
                with pytest.raises(DataError, match=rf"'{column}' in .* holds bytes \(Arrow type binary\)"):
                    score(frame.head(n))


def test_a_date_that_is_a_number_is_shown_as_written() -> None:
    """An integer among dates was shown as np.int64(67)."""
    book = _book(29).assign(dt=[*range(20200101, 20200129), 67])  # an int64 column of yyyymmdd
    assert book["dt"].dtype == np.int64
    with pytest.raises(DataError, match=r"'dt' in book.csv holds 67 at row 29, which is not a date"):
        make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="dt"), source="book.csv")


def test_a_blank_date_is_said_to_be_blank() -> None:
    """A blank snapshot date was refused as "holds nan at row 6, which is not a date" (a
    behavioural modeller's walk-through, 2026-12-07): said as blank, with the count."""
    book = _book(30).assign(dt=pd.date_range("2020-01-01", periods=30).strftime("%Y-%m-%d"))
    book.loc[[5, 9], "dt"] = None
    book.loc[12, "dt"] = "  "
    with pytest.raises(DataError, match=r"Date column 'dt' in book\.csv is blank at row 6 \(3 blank row\(s\) in all\); "
                                        r"an out-of-time split needs a date in every row"):
        make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="dt"), source="book.csv")


def test_a_date_column_of_seconds_says_how_to_make_dates() -> None:
    """Card data's Time (seconds since the first payment) was refused as "12.0 at row 1, which is not a
    date; fix it or remove the row": every row, and no row to remove (a review, 2026-12-03)."""
    book = _book(29).assign(Time=np.arange(29, dtype=float) * 12.0)
    with pytest.raises(DataError, match=r"'Time' in book\.csv holds numbers \(0\.0 at row 1\), not dates; an "
                                        r"out-of-time split orders rows by calendar date\. Add a date column .*unit='s'"
                                        r"\).*origin='1899-12-30'\)\) and name it, or drop --date-column") as info:
        make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="Time"), source="book.csv")
    assert info.value.param == "date_column"


def test_a_date_column_of_true_false_says_it_holds_no_dates() -> None:
    book = _book(29).assign(when=[i % 2 == 0 for i in range(29)])
    with pytest.raises(DataError, match=r"'when' in book\.csv holds true/false values, not dates; .* Name a column of "
                                        r"dates, or drop --date-column"):
        make_split(book, book["bad"].to_numpy(dtype=float), SplitConfig(date_column="when"), source="book.csv")
