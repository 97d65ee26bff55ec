"""A scores file is written as its name says, as the input side reads one: ``.csv.gz`` gzip,
``.tsv`` tab-separated. Both used to be plain comma CSV under that name (exit 0): a ``.gz`` no
reader could open, a ``.tsv`` read as one column."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from finlite.errors import DataError
from finlite.runtime import Predictor
from finlite.runtime.batch import RUN_KEY, score_file


def _counted(notes: list[str]) -> list[str]:
    """A run's notes on what it counted: without the artifact's report verdict and the decision
    rate, which come first and are tested apart."""
    return [n for n in notes if "validation report is" not in n and "decided 1 at the cut-off" not in n]


def test_each_suffix_gets_its_own_format_and_the_same_scores(exported_dir: Path, german_csv: Path,
                                                             tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    expected = predictor.predict_score(pd.read_csv(german_csv).drop(columns="creditability"))
    for name, read in (("s.csv", pd.read_csv), ("s.txt", pd.read_csv),
                       ("s.tsv", lambda p: pd.read_csv(p, sep="\t")),
                       ("s.csv.gz", lambda p: pd.read_csv(p, compression="gzip"))):
        out = tmp_path / name
        score_file(predictor, german_csv, out)
        frame = read(out)
        assert list(frame.columns) == ["score", "decision"], name
        np.testing.assert_allclose(frame["score"], expected, rtol=1e-6, err_msg=name)
    with gzip.open(tmp_path / "s.csv.gz", "rt") as fh:  # a real gzip stream, not a renamed CSV
        assert fh.readline().strip() == '"score","decision"'
    assert "\t" in (tmp_path / "s.tsv").read_text().splitlines()[1]


def test_an_empty_input_still_writes_a_readable_file_with_its_columns(exported_dir: Path, german_csv: Path,
                                                                 tmp_path: Path) -> None:
    header = german_csv.read_text().splitlines()[0] + "\n"
    empty = tmp_path / "empty.csv"
    empty.write_text(header)
    # No rows still gives the columns (the Parquet had none and the CSV not even a header before).
    for name, read in (("none.csv.gz", lambda p: pd.read_csv(p, compression="gzip")), ("none.csv", pd.read_csv),
                       ("none.parquet", pd.read_parquet)):
        frame = read(score_file(Predictor(exported_dir), empty, tmp_path / name).output)
        assert frame.empty and list(frame.columns) == ["score", "decision"], name


def test_a_new_scores_file_is_private_and_a_replaced_one_keeps_its_permissions(exported_dir: Path, german_csv: Path,
                                                                               tmp_path: Path) -> None:
    """--force turned a 0644 scores file, shared with a reporting account, into 0600 (a review,
    2026-12-03); a new file stays private to its owner."""
    import stat

    predictor = Predictor(exported_dir)
    new = score_file(predictor, german_csv, tmp_path / "new.csv").output
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    for mode in (0o644, 0o640, 0o4755):  # setuid is never carried over
        shared = tmp_path / f"shared{mode:o}.parquet"
        shared.write_bytes(b"old")
        shared.chmod(mode)
        score_file(predictor, german_csv, shared, overwrite=True)
        assert stat.S_IMODE(shared.stat().st_mode) == mode & 0o777 and len(pd.read_parquet(shared)) == 1000
    if os.geteuid() == 0:  # and its group: a 0640 file chgrp'd to the reporting account's group
        shared = tmp_path / "grouped.csv"
        shared.write_bytes(b"old")
        os.chown(shared, -1, 65534)
        shared.chmod(0o640)
        score_file(predictor, german_csv, shared, overwrite=True)
        assert shared.stat().st_gid == 65534 and stat.S_IMODE(shared.stat().st_mode) == 0o640


def test_blank_numbers_are_counted_and_a_lost_field_is_warned(exported_dir: Path, german_csv: Path,
                                                             tmp_path: Path) -> None:
    """Blank amounts were scored with the training median without a trace, while unseen
    categories were counted (a fraud engineer's walk-through, 2026-12-04 night)."""
    import json

    frame = pd.read_csv(german_csv).drop(columns="creditability")
    frame.loc[[5, 17, 250], "credit_amount"] = None
    blanks = tmp_path / "blanks.csv"
    frame.to_csv(blanks, index=False)
    summary = score_file(Predictor(exported_dir), blanks, tmp_path / "o.parquet")
    assert summary.imputed == {"credit_amount": 3} and summary.to_dict()["imputed"] == {"credit_amount": 3}
    assert "rows with a blank number, read as training read blanks (the training median, and the column's missing " \
        "indicator where training had blanks): credit_amount 3 " \
           "(0.3%)" in summary.notes
    import pyarrow.parquet as pq

    run = json.loads(pq.ParquetFile(tmp_path / "o.parquet").metadata.metadata[b"finlite.run"])
    assert run["imputed"] == {"credit_amount": 3}
    frame["credit_amount"] = None  # a feed that lost the field
    frame.to_csv(blanks, index=False)
    summary = score_file(Predictor(exported_dir), blanks, tmp_path / "o2.csv")
    assert summary.imputed == {"credit_amount": 1000}
    assert "warning: column 'credit_amount' is blank in 100% of the rows; a feed may have lost it. Check it before " \
           "using these decisions." in summary.notes
    assert score_file(Predictor(exported_dir), german_csv, tmp_path / "o3.csv").imputed == {}


def test_columns_the_training_table_did_not_have_are_named_and_known_ones_are_not(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """A feed that gained a column was scored without a word of it (a monitoring walk-through,
    2026-12-06); the target, the id columns and the model's fields are expected, not said."""
    predictor = Predictor(exported_dir)
    plain = score_file(predictor, german_csv, tmp_path / "plain.csv")  # German credit's own file, target and all
    assert not any("did not have" in n for n in plain.notes)
    frame = pd.read_csv(german_csv)
    frame["loan_ref"] = [f"L{i}" for i in range(len(frame))]
    for j in range(7):
        frame[f"new_{j}"] = j
    wider = tmp_path / "wider.parquet"
    frame.to_parquet(wider)
    summary = score_file(predictor, wider, tmp_path / "wider.csv", id_columns=["loan_ref"])
    said = [n for n in summary.notes if "did not have" in n]
    assert said == [f"{str(wider)!r} has 7 column(s) the training table did not have, which the model does not read: "
                    "'new_0', 'new_1', 'new_2', 'new_3', 'new_4' and 2 more. It reads only the columns it was trained "
                    "on: give an identifier with --id-column to carry it into the output; a new input is used only "
                    "by a model trained again with it."]
    # The scores are those of the file without them.
    assert pd.read_csv(tmp_path / "wider.csv")["score"].equals(pd.read_csv(tmp_path / "plain.csv")["score"])
    # A stored pandas index (__index_level_0__, a filtered frame's) is read as the index by training: not said.
    indexed = tmp_path / "indexed.parquet"
    german = pd.read_csv(german_csv)
    german[german["age_in_years"] > 22].to_parquet(indexed)
    assert "__index_level_0__" in pq.read_schema(indexed).names
    assert not any("did not have" in n for n in score_file(predictor, indexed, tmp_path / "i.csv").notes)


def test_an_unknown_suffix_is_refused_before_any_work(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown file type; use \.csv \(or \.txt\), \.csv\.gz, \.tsv or \.parquet"):
        score_file(Predictor(exported_dir), german_csv, tmp_path / "s.xlsx")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("column", "values", "kind"), [("note", [[1, 2]], r"list<element: int64>"),
                                                       ("raw", [b"\xff"], r"binary"),
                                                       ("info", [{"a": 1}], r"struct<a: int64>")])
def test_an_id_column_a_csv_cannot_hold_is_refused_naming_it(exported_dir: Path, german_csv: Path, tmp_path: Path,
                                                            column: str, values: list, kind: str) -> None:
    """Arrow's CSV writer failed on these with a traceback (exit 1) after scoring; Parquet holds them."""
    frame = pd.read_csv(german_csv).drop(columns="creditability").head(50)
    frame[column] = values * len(frame)
    frame.to_parquet(tmp_path / "in.parquet")
    predictor = Predictor(exported_dir)
    with pytest.raises(DataError, match=rf"Id column '{column}' holds {kind} values, which a CSV output .* cannot "
                                        r"hold as they are; write Parquet"):
        score_file(predictor, tmp_path / "in.parquet", tmp_path / "out.csv", id_columns=[column])
    assert not (tmp_path / "out.csv").exists()
    score_file(predictor, tmp_path / "in.parquet", tmp_path / "out.parquet", id_columns=[column])
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 50


def test_categories_training_never_saw_are_counted_and_a_recoded_column_is_warned(exported_dir: Path,
                                                                                  german_csv: Path,
                                                                                  tmp_path: Path) -> None:
    """A book whose categorical columns held codes instead of labels was scored with every row on
    the unseen category (999 of 1,000 flagged against 253) without a word (a review, 2026-12-02)."""
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    predictor = Predictor(exported_dir)
    clean = score_file(predictor, german_csv, tmp_path / "clean.csv")
    assert clean.unseen == {} and [n for n in clean.notes if "never saw" in n] == []
    recoded = frame.copy()
    recoded["purpose"] = "P" + recoded["purpose"].astype("category").cat.codes.astype(str)
    recoded.loc[:9, "housing"] = "caravan"  # ten rows of a new value: noted, not warned
    recoded.to_csv(tmp_path / "recoded.csv", index=False)
    for out in ("recoded.csv.out.csv", "recoded.parquet"):
        summary = score_file(predictor, tmp_path / "recoded.csv", tmp_path / out)
        assert summary.unseen == {"housing": 10, "purpose": 1000}
        # The artifact's report verdict and the decision rate come first (tested apart): the counts here.
        notes = _counted(summary.notes)
        assert notes[0] == ("rows with a category training never saw (scored as unseen: the unseen bucket, or a "
                                    "weight-of-evidence or target-encoded column's prior; an empty or blank value where "
                                    "training had none counts too): housing 10 (1.0%), purpose 1,000 (100.0%)")
        assert summary.unseen_empty == {}
        assert notes[1].startswith(
            "warning: column 'purpose' holds categories training never saw in 100% of the rows")
        # Then the population check, and the fields that moved (the recoded purpose).
        assert len(notes) == 4 and "PSI" in notes[2]
        assert notes[3].startswith("warning: fields whose distribution shifted since training (CSI ≥ 0.25): "
                                           "purpose ")
    from typer.testing import CliRunner

    from finlite.cli import app

    shown = CliRunner().invoke(app, ["score", str(exported_dir), str(tmp_path / "recoded.csv"), "-o",
                                     str(tmp_path / "cli.csv")])
    assert shown.exit_code == 0, shown.output
    assert "training had none counts too): housing 10 (1.0%)" in shown.output.replace("\n", " ")
    assert "warning: column 'purpose' holds categories training never saw in 100% of the rows" in shown.output


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_empty_categories_are_told_apart_from_new_ones(exported_dir: Path, german_csv: Path, tmp_path: Path,
                                                       kind: str) -> None:
    """A column training never saw empty, empty in most rows, was warned of as "coded otherwise than
    in training" (codes for labels), which sends its reader to the wrong fix: its feed lost the
    values. The empty or blank rows (a null, "" or spaces: every value the encoder reads as missing)
    are counted apart, in the notes, the summary and the run record, from CSV and Parquet alike."""
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    assert frame["purpose"].notna().all() and frame["housing"].notna().all()  # training saw neither empty
    frame.loc[:599, "purpose"] = None  # 700 of 1,000 rows empty or blank
    frame.loc[600:649, "purpose"] = ""
    frame.loc[650:699, "purpose"] = "   "
    frame.loc[:9, "housing"] = "caravan"  # 10 new values
    frame.loc[10:14, "housing"] = None  # and 5 empty
    frame.loc[15:16, "job"] = "astronaut"  # 2 new values in a third column, none empty
    frame.loc[17:599, "job"] = None  # then 583 empty: 58.5 % unseen, most of it empty
    source = tmp_path / f"lost.{kind}"
    frame.to_csv(source, index=False) if kind == "csv" else frame.to_parquet(source, index=False)
    summary = score_file(Predictor(exported_dir), source, tmp_path / "out.parquet")
    assert summary.unseen == {"housing": 15, "job": 585, "purpose": 700}
    assert summary.unseen_empty == {"housing": 5, "job": 583, "purpose": 700}
    notes = _counted(summary.notes)
    assert notes[0].endswith("housing 15 (1.5%; 5 of them empty or blank), job 585 (58.5%; 583 of them empty "
                             "or blank), purpose 700 (70.0%; all empty or blank)")
    assert notes[1] == ("warning: column 'job' is empty or blank in 58% of the rows, which training never saw "
                                "(those rows are scored as an unseen category); a feed may have lost its values. Check "
                                "it before using these decisions ('finlite score --max-blank-share' fails a run beyond "
                                "a share).")
    assert notes[2].startswith("warning: column 'purpose' is empty or blank in 70% of the rows, which training")
    assert not any("coded otherwise" in note for note in summary.notes)
    # Both parts, each a tenth of the rows or more: each said.
    frame.loc[:299, "purpose"] = "spaceship"
    frame.to_csv(source, index=False) if kind == "csv" else frame.to_parquet(source, index=False)
    both = score_file(Predictor(exported_dir), source, tmp_path / "both.parquet")
    assert both.unseen["purpose"] == 700 and both.unseen_empty["purpose"] == 400
    assert ("warning: column 'purpose' is empty or blank in 40% of the rows and holds categories training never saw in "
            "30%; a feed may have lost values, and it may be coded otherwise than in training (codes for labels, another "
            "spelling). Check it before using these decisions ('finlite score --max-unseen-share' and "
            "'--max-blank-share' fail a run beyond a share).") in both.notes
    record = json.loads(pq.read_metadata(tmp_path / "out.parquet").metadata[RUN_KEY.encode()])
    assert record["unseen_empty"] == summary.unseen_empty and record["unseen"]["purpose"] == 700
    assert summary.to_dict()["unseen_empty"] == summary.unseen_empty


def test_a_csv_arrow_refuses_is_named_by_its_line_or_its_separator(exported_dir: Path, german_csv: Path,
                                                                    tmp_path: Path) -> None:
    """Arrow says "Expected 21 columns, got 5" with no line and no fix (a review, 2026-12-02)."""
    lines = german_csv.read_text().splitlines(keepends=True)
    short = tmp_path / "short.csv"
    short.write_text("".join(lines[:5]) + ",".join(lines[5].split(",")[:5]) + "\n" + "".join(lines[6:40]))
    predictor = Predictor(exported_dir)
    with pytest.raises(DataError, match=r"Expected 21 columns, got 5.*: line 6 has 5 field\(s\) where the header has 21"):
        score_file(predictor, short, tmp_path / "out.csv")
    semi = tmp_path / "semi.csv"
    semi.write_text("".join(line.replace(",", ";") for line in lines[:40]))
    with pytest.raises(DataError, match=r"reads as one column whose name holds ';': the file seems separated by ';'"):
        score_file(predictor, semi, tmp_path / "out.csv")
    tabs = tmp_path / "tabs.csv"  # a tab-separated file named .csv: no hint before
    tabs.write_text("".join(line.replace(",", "\t") for line in lines[:40]))
    with pytest.raises(DataError, match=r"holds a tab: the file seems tab-separated, .* Name it \.tsv"):
        score_file(predictor, tabs, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_csv_that_is_not_utf8_is_named_by_line_and_column(exported_dir: Path, german_csv: Path,
                                                            tmp_path: Path) -> None:
    """Arrow said "In CSV column #16: ... invalid UTF8 data" (a 0-based number, no row, no fix);
    pandas "'utf-8' codec can't decode byte 0xe9 in position 3" (a review, 2026-12-03)."""
    from finlite.data.io import read_table

    frame = pd.read_csv(german_csv)
    frame["job"] = frame["job"].astype(object)
    frame.loc[5, "job"] = "caf\xe9"
    latin = tmp_path / "latin.csv"
    frame.to_csv(latin, index=False, encoding="latin-1")
    with pytest.raises(DataError, match=r"line 7, column 'job' holds bytes that are not UTF-8 text; save the file as "
                                        r"UTF-8"):
        score_file(Predictor(exported_dir), latin, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(DataError, match=r"'.*latin.csv' is not UTF-8 text \(first at line 7, column 'job'\); save it "
                                        r"as UTF-8"):
        read_table(latin)
    # A Mac spreadsheet's lone CR line ends (its "CSV (Macintosh)" is Mac-Roman): the same line.
    mac = tmp_path / "mac.csv"
    mac.write_bytes(latin.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    from finlite.data.io import utf8_fault

    assert utf8_fault(mac) == "line 7, column 'job'"
    # A separator inside a quoted value before the fault is no column boundary (a latin-1 city in
    # the last column was named '#23' after quoted commas: a walk-through, 2026-12-06).
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'a,b,city\n1,"x, y, z",Z\xfcrich\n')
    assert utf8_fault(quoted) == "line 2, column 'city'"
    # A column name in Windows-1252 (a spreadsheet's plain CSV): score named no file, training a column '#4'
    # (a European modeller's walk-through, 2026-12-07).
    header = tmp_path / "header.csv"
    frame.drop(index=5).rename(columns={"job": "Beruf (Müller)"}).to_csv(header, index=False, encoding="cp1252")
    with pytest.raises(DataError, match=r"^The header \(first line\) of '.*header\.csv' is not UTF-8 text: a column "
                                        r"name holds bytes of another encoding, such as a spreadsheet's plain CSV in "
                                        r"Windows-1252"):
        score_file(Predictor(exported_dir), header, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    assert utf8_fault(header) == f"line 1, the header: the name of column {list(frame.columns).index('job') + 1}"
    # A valid UTF-8 file may hold U+FFFD itself (a CRM's earlier mis-decoding): its other faults keep
    # their own advice, never the UTF-8 one (the diff's review).
    lines = german_csv.read_text().splitlines(keepends=True)
    replaced = tmp_path / "replaced.csv"
    fields = lines[3].split(",")
    fields[15] = "caf\ufffd"
    replaced.write_text("".join(lines[:3]) + ",".join(fields) + "".join(lines[4:6]) + lines[6].rstrip("\n") + ",extra\n"
                        + "".join(lines[7:40]), encoding="utf-8")
    with pytest.raises(DataError, match=r"line 7 has 22 field\(s\) where the header has 21") as info:
        score_file(Predictor(exported_dir), replaced, tmp_path / "out.csv")
    assert "UTF-8" not in str(info.value)


def test_a_value_larger_than_a_read_block_is_named_with_its_fix(exported_dir: Path, german_csv: Path,
                                                                tmp_path: Path) -> None:
    """Arrow's "straddles two block boundaries (try to increase block size?)" named an option
    finlite does not have (a review, 2026-12-03)."""
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    frame["job"] = frame["job"].astype(object)
    frame.loc[3, "job"] = "x" * (3 << 20)
    frame.to_csv(tmp_path / "huge.csv", index=False)
    with pytest.raises(DataError, match=r"one row holds a value of a megabyte or more .* shorten or remove that value") \
            as info:
        score_file(Predictor(exported_dir), tmp_path / "huge.csv", tmp_path / "out.csv", chunk_rows=1024)
    assert "block size" not in str(info.value)  # Arrow's own advice, for an option finlite has not (a walk-through)
    assert not (tmp_path / "out.csv").exists()


def test_a_quoted_field_with_line_breaks_scores_as_training_reads_it(exported_dir: Path, german_csv: Path,
                                                                     tmp_path: Path) -> None:
    """A free-text column with line breaks inside quotes (a CRM's notes) trains and loads with
    pandas, but score refused it ("Expected 23 columns, got 1") once the file was larger than
    one read block (a review, 2026-12-03): the score reader did not allow newlines in values."""
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    frame = pd.concat([frame] * 12, ignore_index=True)  # 12,000 rows, about 3 MB: several 1 MiB blocks
    frame["notes"] = "called 3x\nno answer, \"left\" a message"
    frame["ref"] = [f"r{i}\n2" for i in range(len(frame))]
    book = tmp_path / "notes.csv"
    frame.to_csv(book, index=False)
    assert book.stat().st_size > 2 << 20
    predictor = Predictor(exported_dir)
    summary = score_file(predictor, book, tmp_path / "out.csv", id_columns=["ref"], chunk_rows=1000)
    out = pd.read_csv(tmp_path / "out.csv")
    assert summary.rows == len(frame) == len(out)
    assert out["ref"].tolist() == frame["ref"].tolist()  # the ids' line breaks kept, row for row
    np.testing.assert_allclose(out["score"], predictor.predict_score(frame), rtol=1e-6)


def test_a_run_checks_its_population_against_the_training_rows(exported_dir: Path, teacher_dir: Path,
                                                               german_csv: Path, tmp_path: Path) -> None:
    """A book with amounts 20x and durations 3x flagged 95 % instead of 25 % with no word of drift
    (a validator's walk-through, 2026-12-02). The run's score PSI is computed in the bins the
    validation report recorded for the training rows, and checked here against its definition."""
    import json

    predictor = Predictor(exported_dir)
    summary = score_file(predictor, german_csv, tmp_path / "same.csv")
    report = json.loads((exported_dir / "report.json").read_text())
    bins = next(s for s in report["sections"] if s["id"] == "stability")["metrics"]["student"]["bins"]
    uppers = np.array([b["upper"] for b in bins[:-1]])
    expected = np.maximum(np.array([b["expected_share"] for b in bins]), 1e-4)
    scores = pd.read_csv(tmp_path / "same.csv")["score"].to_numpy(dtype=np.float32)
    actual = np.histogram(scores, bins=np.r_[-np.inf, uppers, np.inf])[0] / len(scores)
    # np.histogram's bins are closed on the left, the report's on the right: no score sits on an edge here.
    assert not np.isin(scores, uppers.astype(np.float32)).any()
    actual = np.maximum(actual, 1e-4)
    assert summary.psi == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))), rel=1e-9)
    assert summary.psi < 0.1 and summary.notes[-1].startswith("scores' PSI against the training rows'")
    shifted = pd.read_csv(german_csv)
    # 8x, not 20x: amounts 20 times the largest seen are refused now, as far outside the training range.
    shifted["credit_amount"] *= 8
    shifted["duration_in_month"] *= 3
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    moved = score_file(predictor, tmp_path / "shifted.csv", tmp_path / "moved.csv")
    assert moved.psi is not None and moved.psi >= 0.25
    psi_note = next(n for n in moved.notes if "PSI" in n)
    assert psi_note.startswith("warning: the scores' PSI against the training rows' is")
    # Which inputs moved: the two scaled columns, named with their CSI, largest first.
    assert moved.notes[-1].startswith("warning: fields whose distribution shifted since training (CSI ≥ 0.25): "
                                      "credit_amount ") and "duration_in_month" in moved.notes[-1]
    # A teacher has no validation report: its export records its training scores' bins instead.
    assert score_file(_exported_teacher(teacher_dir, german_csv, tmp_path),
                      german_csv, tmp_path / "t.csv").psi is not None


def _exported_teacher(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> Predictor:
    import shutil

    from finlite.jobs.export import export_artifact

    copy = tmp_path / "teacher"
    shutil.copytree(teacher_dir, copy)
    export_artifact(copy, german_csv)
    return Predictor(copy)


def test_the_runtimes_psi_bands_are_the_reports() -> None:
    """A run's PSI is the report's: the same bands, and the same terms on the same counts."""
    from finlite.evaluate import validation
    from finlite.runtime import batch

    assert (batch.PSI_WARN, batch.PSI_FAIL) == (validation.PSI_WARN, validation.PSI_FAIL) == (0.1, 0.25)
    e_counts, a_counts = np.array([50.0, 30.0, 20.0, 0.0]), np.array([10, 0, 40, 50])
    want = validation._shares_psi(e_counts, a_counts.astype(np.float64))[2].sum()
    assert batch.population_psi(a_counts, e_counts / e_counts.sum()) == pytest.approx(want, rel=1e-12)


def test_a_parquet_output_records_the_model_that_made_it(exported_dir: Path, german_csv: Path,
                                                         tmp_path: Path) -> None:
    """A file of decisions named no model: nothing tied a nightly run's output to the artifact, the
    cut-off or what ``decision`` means (a validator's walk-through, 2026-12-02)."""
    import hashlib
    import json

    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from finlite.cli import app

    predictor = Predictor(exported_dir)
    manifest = json.loads((exported_dir / "manifest.json").read_text())
    summary = score_file(predictor, german_csv, tmp_path / "a.parquet")
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata.metadata
    origin = json.loads(meta[b"finlite.provenance"])
    assert origin == summary.provenance
    assert origin["manifest_sha256"] == manifest["manifest_sha256"]
    assert origin["model_file"] == "model.onnx"
    assert origin["model_sha256"] == hashlib.sha256((exported_dir / "model.onnx").read_bytes()).hexdigest()
    assert origin["cutoff"] == manifest["cutoff"] and origin["variant"] == "fp32"
    assert origin["columns"]["decision"].startswith("1 where score >= cutoff (creditability = 'bad' decided)")
    assert origin["input"] == {"name": german_csv.name, "bytes": german_csv.stat().st_size}
    run = json.loads(meta[b"finlite.run"])
    decisions = pd.read_parquet(tmp_path / "a.parquet")["decision"]
    assert run == {"rows": 1000, "positives": int(decisions.sum()), "psi": summary.psi, "unseen": {}, "unseen_empty": {},
                   "imputed": {}, "outside": {}, "csi": pytest.approx(summary.csi),
                   "input_sha256": summary.input_sha256}
    assert run["csi"].keys() == set(Predictor(exported_dir).fields) and max(run["csi"].values()) < 0.1
    # No clock time in it: the same input and artifact give the same bytes.
    score_file(predictor, german_csv, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    # --json: the run and its provenance on stdout, for a CSV output too (which has no metadata).
    shown = CliRunner().invoke(app, ["score", str(exported_dir), str(german_csv), "-o", str(tmp_path / "c.csv"),
                                     "--json", "-q"])
    assert shown.exit_code == 0, shown.output
    printed = json.loads(shown.stdout)
    assert printed["rows"] == 1000 and printed["positives"] == run["positives"] and printed["engine"] == "local"
    assert printed["provenance"] == origin and printed["psi"] == pytest.approx(summary.psi)
    assert printed["output"] == str(tmp_path / "c.csv") and "PSI" in shown.stderr


def test_an_id_spelled_like_a_missing_value_is_copied_as_written(exported_dir: Path, german_csv: Path,
                                                                 tmp_path: Path) -> None:
    """A CSV id spelled NA, NULL or None came out of score blank (every spelling of a missing value
    read as missing, for the features' sake), so its row no longer traced back (noticed
    2026-12-02). The ids now keep their text; a feature that is also an id keeps its missing value."""
    frame = pd.read_csv(german_csv).drop(columns="creditability").head(300)
    ids = [f"L{i:03d}" for i in range(300)]
    ids[150:154] = ["NA", "NULL", "None", ""]  # after the first chunks, which have none
    frame.insert(0, "loan_id", ids)
    frame["purpose_copy"] = frame["purpose"]
    frame.loc[200, "purpose"] = "NA"  # a missing category in a field that is also an id
    frame.to_csv(tmp_path / "in.csv", index=False, na_rep="")
    predictor = Predictor(exported_dir)
    clean = frame.copy()
    clean.loc[200, "purpose"] = None
    clean.to_parquet(tmp_path / "in.parquet")
    expected = score_file(predictor, tmp_path / "in.parquet", tmp_path / "expected.parquet")
    for out, chunk in (("out.parquet", 64), ("out.csv", 64), ("whole.parquet", 100_000)):
        summary = score_file(predictor, tmp_path / "in.csv", tmp_path / out, id_columns=["loan_id", "purpose"],
                             chunk_rows=chunk)
        got = pd.read_parquet(tmp_path / out) if out.endswith(".parquet") else \
            pd.read_csv(tmp_path / out, keep_default_na=False, dtype=str)
        assert got["loan_id"].tolist() == ids
        assert got["purpose"].iloc[200] == "NA" and got["purpose"].iloc[0] == frame["purpose"].iloc[0]
        # The scores are those of the features as training reads them (NA in purpose: missing).
        np.testing.assert_array_equal(got["score"].to_numpy(dtype=np.float32),
                                      pd.read_parquet(tmp_path / "expected.parquet")["score"].to_numpy())
        assert summary.rows == expected.rows == 300
    with pytest.raises(DataError, match=r"'__finlite_x' starts with '__finlite', which finlite reserves"):
        score_file(predictor, tmp_path / "in.csv", tmp_path / "x.csv", id_columns=["__finlite_x"])


def test_ids_after_the_first_block_of_a_large_csv_stay_in_step(exported_dir: Path, german_csv: Path,
                                                               tmp_path: Path) -> None:
    """The second reader of the ids starts only at the first missing-looking id, which here lies
    beyond the CSV reader's first block (over 1 MiB in): it must skip the rows already passed."""
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    big = pd.concat([frame] * 12, ignore_index=True)
    ids = [f"L{i:06d}" for i in range(len(big))]
    ids[9000:9003] = ["NA", "None", ""]
    big.insert(0, "loan_id", ids)
    big.to_csv(tmp_path / "big.csv", index=False, na_rep="")
    assert (tmp_path / "big.csv").stat().st_size > 2 << 20
    for chunk in (1000, 65536):
        score_file(Predictor(exported_dir), tmp_path / "big.csv", tmp_path / f"out{chunk}.parquet",
                   id_columns=["loan_id"], chunk_rows=chunk)
        assert pd.read_parquet(tmp_path / f"out{chunk}.parquet")["loan_id"].tolist() == ids


def test_the_runs_psi_is_the_same_whatever_the_chunks_and_threads(exported_dir: Path, german_csv: Path,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large chunks were binned on every 8th row of the chunk, so the PSI (now also stored in the
    output) moved with --threads and --chunk-rows (a review, 2026-12-03). Rows are now chosen by
    their file position, spread evenly over the file: one row of each block of the smallest power
    of two that keeps them within the sample's size (here cut to 10,000: one of each 16 of 150,000
    rows, stability.sample), whether the file's row count is known from the start (Parquet) or not
    (CSV)."""
    import json

    from finlite.runtime import batch

    monkeypatch.setattr(batch, "PSI_SAMPLE_ROWS", 10_000)
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    big = pd.concat([frame] * 150, ignore_index=True)
    big.to_parquet(tmp_path / "big.parquet", row_group_size=50_000)
    big.to_csv(tmp_path / "big.csv", index=False)
    predictor = Predictor(exported_dir, threads=1)
    psis = {(name, chunk, workers): score_file(predictor, tmp_path / name, tmp_path / f"o{name}-{chunk}-{workers}.parquet",
                                               chunk_rows=chunk, workers=workers).psi
            for name, chunk, workers in (("big.parquet", 16384, 1), ("big.parquet", 131072, 1),
                                         ("big.parquet", 131072, 2), ("big.parquet", 100_000, 2),
                                         ("big.csv", 16384, 2), ("big.csv", 131072, 1))}
    assert len(set(psis.values())) == 1, psis
    # Against its definition, on the rows it names.
    scores = pd.read_parquet(tmp_path / "obig.parquet-16384-1.parquet")["score"].to_numpy()
    from finlite.runtime.stability import sample

    rows, _ = sample(1, len(scores), 10_000, len(scores))
    assert rows.size == len(scores) // 16
    picked = scores[rows]
    report = json.loads((exported_dir / "report.json").read_text())
    bins = next(s for s in report["sections"] if s["id"] == "stability")["metrics"]["student"]["bins"]
    uppers = np.array([b["upper"] for b in bins[:-1]])
    expected = np.maximum(np.array([b["expected_share"] for b in bins]), 1e-4)
    actual = np.maximum(np.bincount(np.searchsorted(uppers, picked, side="left"), minlength=len(bins)) / len(picked),
                        1e-4)
    assert next(iter(psis.values())) == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))),
                                                      rel=1e-9)
    # A handful of rows gives no PSI, and says so.
    frame.head(50).to_csv(tmp_path / "few.csv", index=False)
    few = score_file(predictor, tmp_path / "few.csv", tmp_path / "few.parquet")
    assert few.psi is None and few.notes == ["no PSI check of the scores (nor feature CSI): 50 row(s), fewer than the "
                                            "100 it needs"]


def test_a_parquet_output_has_the_same_bytes_whatever_the_chunks_and_threads(exported_dir: Path, german_csv: Path,
                                                                               tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk was a row group, and the chunk follows the cores and the memory: the same file
    scored with --threads 1 and 2 gave other bytes (a nightly run's walk-through, 2026-12-05). Row
    groups are now of ROW_GROUP_ROWS whatever the chunks (here cut to 40,000 rows)."""
    from finlite.runtime import batch

    monkeypatch.setattr(batch, "ROW_GROUP_ROWS", 40_000)
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    big = pd.concat([frame] * 130, ignore_index=True)
    # A wide id: 3 MB a row group, over a data page (1 MiB), whose cuts followed the chunks too.
    big["loan_id"] = [f"{i:075d}" for i in range(len(big))]
    big.to_parquet(tmp_path / "big.parquet", row_group_size=50_000)
    predictor = Predictor(exported_dir, threads=1)
    outputs = []
    for k, (chunk, workers) in enumerate(((16384, 1), (100_000, 2), (65536, 2), (7000, 1))):
        out = tmp_path / f"scores-{k}" / "o.parquet"  # one name: the provenance names the input, not the output
        score_file(predictor, tmp_path / "big.parquet", out, chunk_rows=chunk, workers=workers, id_columns=["loan_id"])
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs[1:])
    meta = pq.ParquetFile(tmp_path / "scores-0" / "o.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [40_000, 40_000, 40_000, 10_000]
    scored = pd.read_parquet(tmp_path / "scores-0" / "o.parquet")
    np.testing.assert_allclose(scored["score"].to_numpy()[:1000], predictor.predict_score(frame), rtol=0, atol=1e-6)


def test_flags_name_each_rows_imputed_outside_and_unseen_fields_as_the_record_path_does(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """``--flags`` writes, per row, the fields serve answers per record (imputed, outside, unseen):
    the run's counts said how many rows, not which (an MLOps review). Checked row by row against
    the record path, over several chunks and workers, in Parquet and CSV."""
    from finlite.runtime.batch import FLAG_COLUMNS

    predictor = Predictor(exported_dir)
    frame = pd.read_csv(german_csv).drop(columns="creditability").head(400).copy()
    frame["credit_amount"] = frame["credit_amount"].astype(float)
    frame["age_in_years"] = frame["age_in_years"].astype(float)
    low, high = predictor.encoder.spans["age_in_years"]
    frame.loc[[3, 150, 399], "credit_amount"] = np.nan
    frame.loc[[7, 150], "age_in_years"] = [low - 5, high + 1]
    frame.loc[[11, 150, 300], "purpose"] = ["spaceship", "boat", "boat"]
    frame.to_parquet(tmp_path / "book.parquet", index=False)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    imputed: list[list[str]] = []
    outside: list[list[str]] = []
    _, unseen = predictor.encoder.encode_records(records, "the records", imputed, outside)
    summary = score_file(predictor, tmp_path / "book.parquet", tmp_path / "out.parquet", flags=True, chunk_rows=97,
                         workers=2)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["score", "decision", *FLAG_COLUMNS.values()]
    got = {kind: [json.loads(v) for v in table.column(col).to_pylist()] for kind, col in FLAG_COLUMNS.items()}
    assert got["imputed"] == imputed and got["outside"] == outside and got["unseen"] == [list(u) for u in unseen]
    assert got["imputed"][150] == ["credit_amount"] and got["unseen"][150] == ["purpose"] and got["outside"][0] == []
    assert summary.imputed == {"credit_amount": 3}  # the counts stay as they were
    meaning = json.loads(pq.read_metadata(tmp_path / "out.parquet").metadata[b"finlite.provenance"])["columns"]
    assert set(FLAG_COLUMNS.values()) <= set(meaning)
    # CSV alike, and the scores equal a run without flags.
    score_file(predictor, tmp_path / "book.parquet", tmp_path / "out.csv", flags=True)
    csv = pd.read_csv(tmp_path / "out.csv")
    assert [json.loads(v) for v in csv["imputed_fields"]] == imputed
    plain = score_file(predictor, tmp_path / "book.parquet", tmp_path / "plain.parquet")
    assert plain.rows == 400 and pq.read_table(tmp_path / "plain.parquet").column_names == ["score", "decision"]
    np.testing.assert_array_equal(pq.read_table(tmp_path / "plain.parquet").column("score").to_numpy(),
                                  table.column("score").to_numpy())
    # An id column named like a flag column is refused; so is --flags on a forecaster (tested there).
    with pytest.raises(DataError, match=r"Id column 'unseen_fields' would clash with the output column"):
        frame.assign(unseen_fields="x").to_parquet(tmp_path / "clash.parquet", index=False)
        score_file(predictor, tmp_path / "clash.parquet", tmp_path / "clash_out.parquet", flags=True,
                   id_columns=["unseen_fields"])


def test_flags_list_unseen_fields_in_the_record_paths_order_with_valued_columns() -> None:
    """A weight-of-evidence field before a one-hot one: the record path lists one-hot fields first,
    then valued ones, and so must the flags (they were sorted by field order: a review)."""
    import pyarrow as pa

    from finlite.data import infer_schema
    from finlite.data.preprocess import Encoding, Preprocessor
    from finlite.runtime.batch import flag_columns
    from finlite.runtime.encoder import Encoder

    rng = np.random.default_rng(0)
    n = 600
    train = pd.DataFrame({"amount": rng.gamma(2.0, 100.0, n), "zcat": [f"z{i % 80}" for i in range(n)],
                          "color": rng.choice(["red", "blue", "green"], n), "y": rng.integers(0, 2, n)})
    pre = Preprocessor(infer_schema(train, "y"), Encoding(max_categories=10)).fit(train)
    encoder = Encoder(pre.to_dict())
    assert [v[0] for v in encoder.valued] == ["zcat"] and [c[0] for c in encoder.categorical] == ["color"]
    book = pd.DataFrame({"amount": [50.0, None, 2000.0, 20.0, 30.0], "zcat": ["z1", "new", "z2", "new", None],
                         "color": ["red", "mauve", "blue", "teal", "red"]})
    records = book.astype(object).where(book.notna(), None).to_dict("records")
    imputed: list[list[str]] = []
    outside: list[list[str]] = []
    _, unseen = encoder.encode_records(records, "the records", imputed, outside)
    prepared = encoder.prepare_arrow(pa.Table.from_pandas(book, preserve_index=False), row_flags=True)
    columns = flag_columns(prepared.flags or {}, len(book))
    assert [json.loads(v) for v in columns["unseen_fields"].to_pylist()] == [list(u) for u in unseen]
    assert [json.loads(v) for v in columns["imputed_fields"].to_pylist()] == imputed
    assert [json.loads(v) for v in columns["outside_fields"].to_pylist()] == outside
    assert json.loads(columns["unseen_fields"].to_pylist()[1]) == ["color", "zcat"]


def test_limits_stop_a_run_on_a_broken_feed_and_write_nothing(exported_dir: Path, german_csv: Path,
                                                              tmp_path: Path) -> None:
    """A column blanked in every row was scored on the training median and the run exited 0 (an
    MLOps walk-through): with limits, a run beyond them writes nothing (exit 1 on the command
    line); within them it writes as before; a limit that cannot be judged is a breach."""
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.errors import ConfigError, GatesFailedError
    from finlite.runtime.batch import ScoreLimits

    predictor = Predictor(exported_dir)
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    lost = frame.assign(credit_amount=np.nan)
    lost.to_parquet(tmp_path / "lost.parquet", index=False)
    limits = ScoreLimits(max_blank_share=0.05, max_psi=10.0)
    with pytest.raises(GatesFailedError, match=r"no decision was written: fields blank beyond --max-blank-share 0\.05 "
                                               r"\(scored on the training median or the unseen category\): "
                                               r"credit_amount 100\.0%") as caught:
        score_file(predictor, tmp_path / "lost.parquet", tmp_path / "out.parquet", limits=limits)
    assert len(caught.value.gates) == 1 and not (tmp_path / "out.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["lost.parquet"]  # no temporary file left either
    summary = score_file(predictor, german_csv, tmp_path / "ok.parquet",
                         limits=ScoreLimits(max_psi=0.25, max_csi=0.25, max_blank_share=0.0, max_outside_share=0.0))
    assert summary.rows == 1000 and (tmp_path / "ok.parquet").is_file()
    # The PSI of 50 rows cannot be judged: a limit asked for never passes unmade.
    frame.head(50).to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(GatesFailedError, match=r"the scores' PSI could not be judged against --max-psi 0\.25 \(50 rows"
                       ) as few:
        score_file(predictor, tmp_path / "few.csv", tmp_path / "few_out.csv", limits=ScoreLimits(max_psi=0.25))
    # Raising a limit that could not be judged changes nothing: not advised (a monitoring walk-through).
    assert "raise the limit" not in str(few.value) and "score enough rows, export the artifact again" in str(few.value)
    from finlite.runtime.batch import limits_refusal

    for unjudged in (ScoreLimits(max_csi=0.2), ScoreLimits(max_psi=0.2), ScoreLimits(max_flag_share=0.1)):
        said = str(limits_refusal(unjudged.breaches(50, None, {}, {}, {}, {}), "few.csv"))
        assert "could not be judged against" in said and "raise the limit" not in said, said
    # The alert budget: more rows decided 1 than the share allowed stops the run (a fraud walk-through:
    # a burst of alerts barely moved the decile PSI).
    flagged = summary.positives / summary.rows
    with pytest.raises(GatesFailedError, match=rf"{flagged:.1%} of the rows were decided 1 \({summary.positives:,} of "
                                               rf"1,000\), above --max-flag-share 0\.1"):
        score_file(predictor, german_csv, tmp_path / "burst.parquet", limits=ScoreLimits(max_flag_share=0.1))
    assert not (tmp_path / "burst.parquet").exists()
    assert score_file(predictor, german_csv, tmp_path / "budget.parquet",
                      limits=ScoreLimits(max_flag_share=flagged + 0.01)).rows == 1000
    with pytest.raises(ConfigError, match="--max-flag-share must be a share of the rows, from 0 to 1"):
        ScoreLimits(max_flag_share=2.0)
    from finlite.cli import app as cli_app

    said = CliRunner().invoke(cli_app, ["score", str(predictor.path), str(german_csv), "-o",
                                        str(tmp_path / "cli.parquet"), "--max-flag-share", "0.1"])
    assert said.exit_code == 1 and "above --max-flag-share 0.1" in said.output
    assert not (tmp_path / "cli.parquet").exists()
    # With --json the refusal is an object on stdout too (it printed nothing there: a data
    # engineer's walk-through, 2026-12-07), with the limits beyond and their numbers.
    js = CliRunner().invoke(cli_app, ["score", str(predictor.path), str(german_csv), "-o",
                                      str(tmp_path / "cli.parquet"), "--max-flag-share", "0.1", "--json"])
    record = json.loads(js.stdout)
    assert js.exit_code == 1 and record["exit_code"] == 1 and "went beyond its limits" in record["error"]
    assert len(record["limits"]) == 1 and "above --max-flag-share 0.1" in record["limits"][0]
    # A flag-share limit that cannot be judged (a header-only file) is not told to export again.
    (tmp_path / "header.csv").write_text(german_csv.read_text().splitlines()[0] + "\n")
    empty = CliRunner().invoke(cli_app, ["score", str(predictor.path), str(tmp_path / "header.csv"), "-o",
                                         str(tmp_path / "none.parquet"), "--max-flag-share", "0.1"])
    assert empty.exit_code == 1 and "could not be judged against --max-flag-share" in empty.output, empty.output
    assert "export the artifact again" not in empty.output and "drop that limit for this run" in empty.output
    # A tighter PSI limit than the run's own PSI breaches, with the number.
    with pytest.raises(GatesFailedError, match=rf"the scores' PSI {summary.psi:.3f} is above --max-psi 0"):
        score_file(predictor, german_csv, tmp_path / "tight.parquet", limits=ScoreLimits(max_psi=0.0))
    # Blanks training saw (a field with a missing indicator) are the model's own case, not a lost feed.
    from finlite.runtime.batch import learned_blanks

    assert ScoreLimits(max_blank_share=0.05).breaches(1000, 0.0, {}, {"income": 300}, {}, {}, {"income"}) == []
    assert ScoreLimits(max_blank_share=0.05).breaches(1000, 0.0, {}, {"income": 300}, {}, {}, set()) != []
    assert learned_blanks(predictor.encoder) == frozenset()  # German credit's training saw no blank
    with pytest.raises(ConfigError, match=r"--max-blank-share must be a share of the rows, from 0 to 1; got 1\.5"):
        ScoreLimits(max_blank_share=1.5)
    with pytest.raises(ConfigError, match=r"--max-psi must be a number of 0 or more; got -1"):
        ScoreLimits(max_psi=-1)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(tmp_path / "lost.parquet"), "-o",
                                      str(tmp_path / "cli.parquet"), "--max-blank-share", "0.05"])
    assert result.exit_code == 1 and "went beyond its limits" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "cli.parquet").exists()


def test_max_unseen_share_stops_a_run_on_a_recoded_column(exported_dir: Path, german_csv: Path,
                                                         tmp_path: Path) -> None:
    """An upper-cased column was 100 % unseen, its rows scored on the unseen category, and the run
    exited 0 with a warning: only --max-csi could stop it (a data engineer's walk-through,
    2026-12-07). --max-unseen-share judges each categorical field's share of values training never
    saw; blanks count under --max-blank-share, not here."""
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.errors import ConfigError, GatesFailedError
    from finlite.runtime.batch import ScoreLimits

    predictor = Predictor(exported_dir)
    frame = pd.read_csv(german_csv).drop(columns="creditability")
    recoded = frame.assign(housing=frame["housing"].str.upper())
    recoded.to_parquet(tmp_path / "recoded.parquet", index=False)
    with pytest.raises(GatesFailedError, match=r"no decision was written: fields holding categories training never saw "
                                               r"in more than --max-unseen-share 0\.05 of the rows \(scored as the "
                                               r"unseen category\): housing 100\.0%\. Check the feed") as caught:
        score_file(predictor, tmp_path / "recoded.parquet", tmp_path / "out.parquet",
                   limits=ScoreLimits(max_unseen_share=0.05))
    assert len(caught.value.gates) == 1 and [p.name for p in tmp_path.iterdir()] == ["recoded.parquet"]
    # 30 recoded rows of 1,000 are within 5 %: written.
    some = frame.assign(housing=[v.upper() if i < 30 else v for i, v in enumerate(frame["housing"])])
    some.to_parquet(tmp_path / "some.parquet", index=False)
    summary = score_file(predictor, tmp_path / "some.parquet", tmp_path / "some_out.parquet",
                         limits=ScoreLimits(max_unseen_share=0.05))
    assert summary.unseen == {"housing": 30} and (tmp_path / "some_out.parquet").is_file()
    # Blanks are a lost feed's, judged by --max-blank-share: not counted here.
    blank = frame.assign(housing="")
    blank.to_parquet(tmp_path / "blank.parquet", index=False)
    assert score_file(predictor, tmp_path / "blank.parquet", tmp_path / "blank_out.parquet",
                      limits=ScoreLimits(max_unseen_share=0.05)).unseen_empty == {"housing": 1000}
    limits = ScoreLimits(max_unseen_share=0.1)
    assert limits.breaches(1000, None, {}, {}, {"job": 400}, {}, unseen={"job": 500}) == []  # 100 new values
    assert limits.breaches(1000, None, {}, {}, {}, {}, unseen={"job": 500}, keyless={"job"}) == []  # no value kept
    said = limits.breaches(1000, None, {}, {}, {}, {}, unseen={"job": 150, "purpose": 20}, unlisted=5)
    assert said == ["fields holding categories training never saw in more than --max-unseen-share 0.1 of the rows "
                    "(scored as the unseen category; a value training saw in fewer than 5 rows counts too, as the "
                    "artifact does not list it (--rare-values unseen)): job 15.0%"]
    with pytest.raises(ConfigError, match=r"--max-unseen-share must be a share of the rows, from 0 to 1; got 2"):
        ScoreLimits(max_unseen_share=2)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(tmp_path / "recoded.parquet"), "-o",
                                      str(tmp_path / "cli.parquet"), "--max-unseen-share", "0.05", "--json"])
    record = json.loads(result.stdout)
    assert result.exit_code == 1 and record["exit_code"] == 1 and "Traceback" not in result.output
    assert record["limits"] == ["fields holding categories training never saw in more than --max-unseen-share 0.05 "
                                "of the rows (scored as the unseen category): housing 100.0%"]
    assert not (tmp_path / "cli.parquet").exists()
    # The run's warning names the limit that stops it.
    warned = CliRunner().invoke(app, ["score", str(exported_dir), str(tmp_path / "recoded.parquet"), "-o",
                                      str(tmp_path / "warned.parquet")])
    assert warned.exit_code == 0 and "('finlite score --max-unseen-share' fails a run beyond a share)" in warned.stderr


def test_a_runs_decision_rate_is_set_beside_the_operating_points() -> None:
    """A drifted book flagged 40 % of its rows where the cut-off flags 29 % of the training rows,
    and the run said only "PSI stable" (an MLOps walk-through): a note, a warning beyond 1.5x. The
    reference is the model's own share of its test split (a student's differs from its teacher's
    training share at the cut-off it inherits: a review)."""
    from finlite.runtime.batch import flag_rate_notes

    manifest = {"operating_point": {"cutoff": 0.4, "flag_rate": 0.3, "flagged_train": 0.3}}
    assert flag_rate_notes(manifest, 1000, 320) == [
        "32.0% of the rows were decided 1 at the cut-off, against 30.0% of the training rows when it was validated"]
    assert flag_rate_notes(manifest, 1000, 460) == [
        "warning: 46.0% of the rows were decided 1 at the cut-off, against 30.0% of the training rows when it was "
        "validated (1.53 times more): the book, or the feed, is not the population the model was validated on"]
    assert "(3.00 times fewer)" in flag_rate_notes(manifest, 1000, 100)[0]
    assert "(none decided 1)" in flag_rate_notes(manifest, 1000, 0)[0]
    student = {**manifest, "metrics": {"test": {"flagged_rate": 0.195}}}
    assert flag_rate_notes(student, 1000, 232) == [
        "23.2% of the rows were decided 1 at the cut-off, against 19.5% of its test split when it was validated"]
    # A recorded null flagged_train falls back to the flag rate (it hid the note: a review).
    assert flag_rate_notes({"operating_point": {"flagged_train": None, "flag_rate": 0.3}}, 1000, 320)[0].startswith(
        "32.0% of the rows")
    assert flag_rate_notes(manifest, 99, 50) == [] and flag_rate_notes({}, 1000, 50) == []
    assert flag_rate_notes({"operating_point": {"flag_rate": True}}, 1000, 50) == []
    # A test split's rate is a sample too: 1.1 % of a book against 4 flagged of the test split's 600
    # rows (0.67 %) is 1.7 times, and chance (a low-default walk-through, 2026-12-07): a note with
    # the test, Fisher's exact test where the flagged rows are few (against scipy's), the pooled
    # z-test where they are many (against scipy's chi-square test without continuity correction).
    from scipy.stats import chi2_contingency, fisher_exact

    from finlite.runtime.batch import _two_proportion_p

    thin = {"metrics": {"test": {"flagged_rate": 4 / 600, "rows": 600}}}
    [note] = flag_rate_notes(thin, 1500, 17)
    exact = fisher_exact([[17, 1500 - 17], [4, 596]]).pvalue
    assert note.startswith("1.1% of the rows were decided 1 at the cut-off, against 0.7% of its test split")
    assert note.endswith(f"within sampling noise of the test split's 600 rows (two-proportion test p {exact:.2g})")
    for k1, n1, k2, n2 in ((2, 1000, 2, 100), (0, 1000, 1, 100), (5, 100_000, 3, 600), (150, 20_000, 40, 6_000),
                           (2_000, 100_000, 6, 100), (300, 100_000, 0, 60)):
        assert _two_proportion_p(k1, n1, k2, n2) == pytest.approx(
            fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue, rel=1e-8)
    large = chi2_contingency([[200_000, 800_000], [60_000, 140_000]], correction=False).pvalue
    assert _two_proportion_p(200_000, 1_000_000, 60_000, 200_000) == pytest.approx(large, rel=1e-8)
    # Three times the rate is still chance against 4 flagged rows (p 0.02); against 60 of 6,000, a warning.
    assert "within sampling noise" in flag_rate_notes(thin, 100_000, 2_000)[0]
    plenty = {"metrics": {"test": {"flagged_rate": 0.01, "rows": 6_000}}}
    assert flag_rate_notes(plenty, 100_000, 2_000)[0].startswith("warning: 2.0% of the rows")


def test_score_says_and_records_the_validation_reports_verdict(exported_dir: Path, german_csv: Path,
                                                               tmp_path: Path) -> None:
    """serve warned of a report that is not PASS; score decided a whole book without a word and
    recorded no verdict (an MLOps walk-through)."""
    stored = json.loads((exported_dir / "report.json").read_text())
    summary = score_file(Predictor(exported_dir), german_csv, tmp_path / "out.parquet")
    assert summary.provenance["report_status"] == stored["status"]
    said = [n for n in summary.notes if "validation report is" in n]
    if stored["status"] == "PASS":
        assert said == []
    else:
        assert len(said) == 1 and f"validation report is {stored['status']} (" in said[0]
    # The same verdict, forced to FAIL in a copy (re-hashed as an export would): a warning.
    import shutil

    from finlite._manifest import amend_artifact

    copy = tmp_path / "copy"
    shutil.copytree(exported_dir, copy)
    failed = {**stored, "status": "FAIL"}
    amend_artifact(copy, {"report.json": json.dumps(failed).encode()}, {})
    notes = score_file(Predictor(copy), german_csv, tmp_path / "copy.parquet").notes
    assert any(n.startswith(f"warning: {copy}'s validation report is FAIL (") for n in notes), notes
    # The command line prints a note once ("note: note: ...": a walk-through, 2026-12-06).
    from typer.testing import CliRunner

    from finlite.cli import app

    out = CliRunner().invoke(app, ["score", str(exported_dir), str(german_csv), "-o", str(tmp_path / "cli.csv"), "-q"])
    assert out.exit_code == 0, out.output
    assert "note: note:" not in out.output and "warning: note:" not in out.output
    assert stored["status"] == "PASS" or f"note: {exported_dir}'s validation report is" in out.output


def test_a_spreadsheet_s_separator_line_is_named_by_train_and_score(exported_dir: Path, german_csv: Path,
                                                                     tmp_path: Path) -> None:
    """Excel's "sep=," first line was read as a header of one column: training spoke of row labels
    and scoring of field counts on line 2 (a data engineer's walk-through, 2026-12-06)."""
    from finlite.data import read_table

    path = tmp_path / "excel.csv"
    path.write_text("sep=,\n" + german_csv.read_text())
    with pytest.raises(DataError, match=r"starts with 'sep=,', a spreadsheet's separator line, not a header: remove "
                                        r"line 1 \(the header is line 2\)\.$"):
        read_table(path)
    with pytest.raises(DataError, match=r"starts with 'sep=,', a spreadsheet's separator line, not a header: remove "
                                        r"line 1 \(the header is line 2\); check the file\.$"):
        score_file(Predictor(exported_dir), path, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_line_of_spaces_is_named_by_score(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """A trailing line of spaces, which training skips, stopped score with Arrow's "Expected 21
    columns, got 1" and no line (a data engineer's walk-through, 2026-12-06)."""
    path = tmp_path / "spaces.csv"
    text = german_csv.read_text()
    path.write_text(text + "   \n")
    lines = len(text.splitlines()) + 1
    with pytest.raises(DataError, match=rf"line {lines} holds only spaces; remove it \(training skipped it"):
        score_file(Predictor(exported_dir), path, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_the_scores_name_their_input_by_its_sha256_and_a_file_that_changes_is_refused(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """The provenance named the input by name and size alone (note 69's leftover): it records the
    file's sha256 (also in the Parquet footer's run record), and a file that changes while it is
    scored (an upstream job still writing it) is refused, nothing written."""
    import hashlib
    import json

    import pyarrow.parquet as pq

    from finlite.runtime.batch import RUN_KEY, InputDigest

    want = hashlib.sha256(german_csv.read_bytes()).hexdigest()
    summary = score_file(Predictor(exported_dir), german_csv, tmp_path / "out.parquet")
    assert summary.input_sha256 == want and summary.to_dict()["input_sha256"] == want
    assert json.loads(pq.read_metadata(tmp_path / "out.parquet").metadata[RUN_KEY.encode()])["input_sha256"] == want
    moving = tmp_path / "moving.csv"
    moving.write_bytes(german_csv.read_bytes())
    digest = InputDigest(moving)
    with moving.open("a") as fh:  # a row appended while the run reads it
        fh.write(german_csv.read_text().splitlines()[1] + "\n")
    with pytest.raises(DataError, match=r"moving\.csv' changed while it was scored .* nothing was written"):
        digest.result()


def test_a_run_without_training_scores_to_compare_says_it_has_no_psi(german_csv: Path, tmp_path: Path) -> None:
    """A teacher scored with "psi": null and no word, where the card promises a PSI on every run
    (an SBA walk-through, 2026-12-06)."""
    import finlite
    from finlite.jobs.export import export_artifact

    finlite.train(german_csv, target="creditability", model="logistic",
                  progress=False, out=tmp_path / "t")
    export_artifact(tmp_path / "t", german_csv)
    # An export made before finlite recorded the training scores' bins (the record taken out).
    from finlite._manifest import amend_artifact

    export = dict(finlite.load(tmp_path / "t").manifest["export"])
    del export["score_stability"]
    amend_artifact(tmp_path / "t", {}, {"export": export})
    summary = score_file(Predictor(tmp_path / "t"), german_csv, tmp_path / "out.parquet")
    assert summary.psi is None
    assert any(n.startswith("no PSI check of the scores: the artifact records no training scores to compare with")
               and "run 'finlite export' on it again" in n for n in summary.notes), summary.notes


def test_an_artifact_without_training_ranges_cannot_pass_max_outside_share(exported_dir: Path, german_csv: Path,
                                                                           tmp_path: Path) -> None:
    """An artifact trained before ranges were recorded passed --max-outside-share unjudged, exit 0,
    with no word (an upgrade walk-through, 2026-12-07), where --max-csi on it stopped the run: now
    the limit is a breach, and every run says the check is not made."""
    import hashlib
    import shutil

    from finlite._manifest import manifest_digest
    from finlite.errors import GatesFailedError
    from finlite.runtime.batch import ScoreLimits

    art = tmp_path / "old"
    shutil.copytree(exported_dir, art)
    spec = json.loads((art / "preprocessor.json").read_text())
    for item in spec["numeric"]:
        if "squash" not in item:  # a squashed field records its range with its squash
            item.pop("low", None)
            item.pop("high", None)
    (art / "preprocessor.json").write_text(json.dumps(spec))
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["files"]["preprocessor.json"] = hashlib.sha256((art / "preprocessor.json").read_bytes()).hexdigest()
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (art / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    predictor = Predictor(art)
    bare = [item["name"] for item in spec["numeric"] if "low" not in item]
    assert bare
    with pytest.raises(GatesFailedError, match=r"the fields' share beyond training could not be judged against "
                                               r"--max-outside-share 0\.05 for .*: the artifact records no training "
                                               r"range for (it|them) \(trained by a finlite before 2026-12-03\)"):
        score_file(predictor, german_csv, tmp_path / "out.parquet", limits=ScoreLimits(max_outside_share=0.05))
    assert not (tmp_path / "out.parquet").exists()
    summary = score_file(predictor, german_csv, tmp_path / "plain.parquet")
    said = [n for n in summary.notes if "no check of values beyond training" in n]
    assert len(said) == 1 and repr(bare[0]) in said[0] and "neither refused nor counted" in said[0]
    # An artifact with its ranges says nothing of it and passes the limit.
    fresh = score_file(Predictor(exported_dir), german_csv, tmp_path / "fresh.parquet",
                       limits=ScoreLimits(max_outside_share=0.05))
    assert not any("no check of values beyond training" in n for n in fresh.notes)
