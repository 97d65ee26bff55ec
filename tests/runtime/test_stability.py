"""Feature CSI at scoring time (runtime/stability.py): the bins export records, the rows a run
bins, and each field's CSI against the validation report's own computation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite._manifest import amend_artifact, read_verified
from finlite.errors import ArtifactError
from finlite.evaluate.validation import csi_table
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file
from finlite.runtime.stability import METHOD, FeatureBins, reference_record, sample_rows


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 140_000), st.integers(0, 3000), st.sampled_from([(16384, 64), (65536, 8), (1, 3)]))
def test_a_run_bins_rows_chosen_by_file_position(first_row: int, n: int, rule: tuple[int, int]) -> None:
    """Every row among the file's first ``head``, then every ``every``-th by file position: whatever the chunk."""
    head, every = rule
    expected = [i for i in range(n) if first_row - 1 + i < head or (first_row - 1 + i) % every == 0]
    assert sample_rows(first_row, n, head, every).tolist() == expected


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 4000
    train = pd.DataFrame({"amount": rng.gamma(2.0, 1000.0, n), "term": rng.integers(6, 60, n).astype(float),
                          "grade": rng.choice(["A", "B", "C", "D", "rare"], n, p=[0.4, 0.3, 0.2, 0.095, 0.005]),
                          "region": rng.choice(["north", "south", None], n, p=[0.5, 0.45, 0.05])})
    train.loc[rng.random(n) < 0.03, "amount"] = np.nan
    scored = pd.DataFrame({"amount": rng.gamma(2.0, 1300.0, 3000), "term": rng.integers(6, 60, 3000).astype(float),
                           "grade": rng.choice(["A", "B", "C", "D", "new"], 3000, p=[0.2, 0.3, 0.2, 0.2, 0.1]),
                           "region": rng.choice(["north", "south", None], 3000, p=[0.3, 0.3, 0.4])})
    scored.loc[:599, "term"] = np.nan  # a feed that started sending blanks
    return train, scored


def test_each_fields_csi_equals_the_reports_computation() -> None:
    train, scored = _frames()
    record = reference_record(train, ["amount", "term"], ["grade", "region"])
    assert record["method"] == METHOD and record["rows"] == 4000
    bins = FeatureBins(record, ["amount", "term", "grade", "region"])
    counts = bins.count(pa.Table.from_pandas(scored, preserve_index=False), first_row=1)
    got = bins.csi(counts)
    for name, categorical in (("amount", False), ("term", False), ("grade", True), ("region", True)):
        expected = csi_table(train[name], scored[name], categorical=categorical)["csi"]
        assert got[name] == pytest.approx(expected, rel=1e-12, abs=1e-12), name
    assert got["term"] >= 0.25 and got["region"] >= 0.25  # the blanks and the missing regions show


def test_the_counts_are_the_same_whatever_the_chunks() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=70_000), "c": rng.choice(["a", "b", "c"], 70_000)})
    bins = FeatureBins(reference_record(frame.head(5000), ["x"], ["c"]), ["x", "c"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    whole = bins.count(table, 1)
    for size in (999, 65536, 4096):
        total = bins.empty()
        for lo in range(0, 70_000, size):
            for name, counted in bins.count(table.slice(lo, size), lo + 1).items():
                total[name] += counted
        assert {k: v.tolist() for k, v in total.items()} == {k: v.tolist() for k, v in whole.items()}
    assert int(whole["x"].sum()) == 16384 + len(range(16384, 70_000, 64))


def test_codes_are_binned_as_the_encoder_reads_them() -> None:
    """A code read from a CSV as text ("94110.0", " 7 ") is the training code (94110, 7): no shift."""
    train = pd.DataFrame({"zip": [94110] * 50 + [7] * 50})
    bins = FeatureBins(reference_record(train, [], ["zip"]), ["zip"])
    text = pa.table({"zip": pa.array(["94110.0"] * 50 + [" 7 "] * 49 + [None])})
    counts = bins.count(text, 1)["zip"].tolist()
    assert counts == [49, 50, 0, 1]  # the kept codes "7" and "94110" (sorted as text), other, missing
    assert bins.csi({"zip": np.array([50, 50, 0, 0])})["zip"] == pytest.approx(0.0)


def test_messy_values_are_one_category_as_the_encoder_reads_them_in_the_report_too() -> None:
    """Spaces, 1 against 1.0, a boolean written "true" / "TRUE": no shift at scoring time nor in the
    report's own CSI (the hold-out report compares another file's rows with the training rows)."""
    train = pd.DataFrame({"grade": ["A", "B"] * 50, "code": [1, 2] * 50, "flag": [True, False] * 50})
    messy = pd.DataFrame({"grade": ["A ", " B"] * 50, "code": [1.0, 2.0] * 50, "flag": ["true", "FALSE"] * 50})
    bins = FeatureBins(reference_record(train, [], ["grade", "code", "flag"]), ["grade", "code", "flag"])
    text = pa.Table.from_pandas(messy.astype(str), preserve_index=False)
    got = bins.csi(bins.count(text, 1))
    assert got == {"grade": 0.0, "code": 0.0, "flag": 0.0}
    for name in ("grade", "code", "flag"):
        assert csi_table(train[name], messy[name], categorical=True)["csi"] == pytest.approx(0.0, abs=1e-12), name


@pytest.mark.parametrize(("train", "scored"), [
    (["True"] * 600 + ["False"] * 395 + ["x"] * 5, ["1"] * 600 + ["0"] * 400),  # a rare value that is no boolean
    ([True] * 600 + [False] * 395 + ["true"] * 5, ["true"] * 600 + ["False"] * 400),  # a rare second spelling
    (["A", "B"] * 400 + [" c "] * 200, ["a", "B ", "c", "C", ""] * 200),
])
def test_score_and_the_report_agree_on_rare_values_and_spellings(train: list[object], scored: list[object]) -> None:
    """The scored values are looked up among the kept training values only, in both computations."""
    frame = pd.DataFrame({"v": pd.Series(train, dtype=object)})
    bins = FeatureBins(reference_record(frame, [], ["v"]), ["v"])
    got = bins.csi(bins.count(pa.table({"v": pa.array([str(x) for x in scored])}), 1))["v"]
    assert got == pytest.approx(csi_table(frame["v"], pd.Series(scored, dtype=object), categorical=True)["csi"],
                                rel=1e-12, abs=1e-12)


def test_a_malformed_record_is_refused() -> None:
    train, _ = _frames()
    good = reference_record(train, ["amount"], ["grade"])
    broken = [{**good, "method": "psi"}, {**good, "fields": "x"},
              {**good, "fields": [{**good["fields"][0], "edges": [3.0, 1.0]}]},
              {**good, "fields": [{**good["fields"][1], "counts": [1, 2]}]},
              {**good, "fields": [{**good["fields"][0], "field": "unknown"}]},
              {**good, "fields": [{**good["fields"][0], "counts": "12"}]},  # text, not a list of counts
              {**good, "fields": [{**good["fields"][0], "counts": [0] * len(good["fields"][0]["counts"])}]},
              {k: v for k, v in good.items() if k != "rows"}]
    for record in broken:
        with pytest.raises(ArtifactError, match=r"export.stability is not a list of fields"):
            FeatureBins(record, ["amount", "grade"])


@pytest.mark.slow
def test_score_reports_each_fields_csi_and_warns_on_a_shift(exported_dir: Path, german: pd.DataFrame,
                                                           german_csv: Path, tmp_path: Path) -> None:
    from finlite.artifact import load, prepare_like
    from finlite.evaluate.validation import feature_csi

    manifest = json.loads((exported_dir / "manifest.json").read_text())
    assert manifest["export"]["stability"]["method"] == METHOD
    book = german.drop(columns="creditability").copy()
    book["duration_in_month"] = book["duration_in_month"] * 3
    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    summary = score_file(Predictor(exported_dir), src, tmp_path / "out.parquet", chunk_rows=300)
    # Independently: the validation report's CSI between the training split and these rows.
    art = load(exported_dir)
    schema = art.preprocessor.schema
    prepared = prepare_like(art, german_csv)
    expected = {r["feature"]: r["csi"] for r in feature_csi(prepared.frame.iloc[prepared.split.train], book,
                                                             list(schema.numeric), list(schema.categorical))}
    assert summary.csi.keys() == expected.keys()
    for name, value in expected.items():
        assert summary.csi[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert summary.csi["duration_in_month"] >= 0.25
    warning = next(n for n in summary.notes if n.startswith("warning: fields whose distribution shifted"))
    assert "duration_in_month" in warning
    run = json.loads(pq.ParquetFile(tmp_path / "out.parquet").metadata.metadata[b"finlite.run"])
    assert run["csi"] == pytest.approx(dict(sorted(summary.csi.items())))

    # An artifact exported before the bins were recorded: no CSI, and nothing said of it.
    old = tmp_path / "old"
    shutil.copytree(exported_dir, old)
    _, man = read_verified(old)
    amend_artifact(old, {}, {"export": {k: v for k, v in man["export"].items() if k != "stability"}},
                   manifest_sha256=man["manifest_sha256"])
    again = score_file(Predictor(old), src, tmp_path / "old.parquet")
    assert again.csi == {} and "no feature CSI check: the artifact was exported before finlite recorded" in \
        " ".join(again.notes)

    # A malformed record is refused before anything is written: no temporary file is left behind.
    bad = tmp_path / "bad"
    shutil.copytree(exported_dir, bad)
    _, man = read_verified(bad)
    amend_artifact(bad, {}, {"export": {**man["export"], "stability": "garbage"}},
                   manifest_sha256=man["manifest_sha256"])
    (tmp_path / "outdir").mkdir()
    with pytest.raises(ArtifactError, match=r"export.stability is not a list of fields"):
        score_file(Predictor(bad), src, tmp_path / "outdir" / "out.parquet")
    assert list((tmp_path / "outdir").iterdir()) == []
