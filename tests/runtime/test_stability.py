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
from finlite.runtime import Predictor, stability
from finlite.runtime.batch import RunCounts, score_file
from finlite.runtime.stability import LEVELS, METHOD, SAMPLE_ROWS, FeatureBins, reference_record, sample, settle


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 300), st.lists(st.integers(1, 900), max_size=12), st.booleans())
def test_a_run_samples_rows_spread_evenly_over_the_file_whatever_the_chunks(
        rows: int, cap: int, cuts: list[int], known: bool) -> None:
    """Chunks of any sizes, the file's row count known from the start (Parquet) or not (CSV): the
    rows of the run's levels are one row of each block of 2**k file positions (k the smallest that
    keeps them within ``cap``), the same rows as the whole file read at once; the rows of each
    level up are one of each block of that level's size (nested: each is a row of the level below)."""
    chunks, start = [], 0
    for size in [*cuts, rows]:
        size = min(size, rows - start)
        if size <= 0:
            break
        chunks.append((start, size))
        start += size
    assert sum(size for _, size in chunks) == rows
    level_of: dict[int, int] = {}
    for first, size in chunks:
        picked, levels = sample(first + 1, size, cap, rows if known else None)
        assert picked.tolist() == sorted(set(picked.tolist())) and all(0 <= p < size for p in picked.tolist())
        for p, level in zip(picked.tolist(), levels.tolist(), strict=True):
            level_of[first + p] = level
    k = stability.sample_level(rows, cap)
    kept = sorted(p for p, level in level_of.items() if level >= k)
    whole, whole_levels = sample(1, rows, cap, rows)
    assert kept == whole.tolist() and all(level >= k for level in whole_levels.tolist())
    assert len(kept) <= cap and len(kept) <= -(-rows // (1 << k))
    blocks = [p >> k for p in kept]
    # One row per block of 2**k: every full block holds exactly one, a last partial block at most one.
    assert blocks == sorted(set(blocks)) and set(range(rows >> k)) <= set(blocks)
    # The levels above k, as a CSV run reads them (a known row count needs none: k is final).
    _, exact = sample(1, rows, cap)
    level_of = dict(zip(whole.tolist(), exact.tolist(), strict=True))
    for j in range(k, min(k + 6, LEVELS)):
        up = [p for p in kept if level_of[p] >= j]
        assert len({p >> j for p in up}) == len(up)  # at most one row of level j or more per block of 2**j
        assert set(range(rows >> j)) <= {p >> j for p in up}  # and one in every full block


def test_the_sample_does_not_take_one_kind_of_row_from_a_feed_that_alternates_them() -> None:
    """The multiples of 2**k took only the even rows of a feed alternating two sources (one in other
    units): a CSI of 0.35 at 100,000 rows read 0.007 at 200,000 (a data engineer's walk-through,
    2026-12-07). Now each block's row is chosen by a hash: about half of each kind, at every size and
    period of a power of two."""
    for rows, cap in ((100_000, 1000), (200_000, 1000), (2_000_000, 1 << 17)):
        picked, _ = sample(1, rows, cap, rows)
        for period in (2, 4, 16):
            shares = np.bincount(picked % period, minlength=period) / picked.size
            assert np.all(np.abs(shares - 1 / period) < 4 * np.sqrt((1 / period) / picked.size)), (rows, period, shares)


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
    got = bins.csi(_settled(bins, pa.Table.from_pandas(scored, preserve_index=False)))
    for name, categorical in (("amount", False), ("term", False), ("grade", True), ("region", True)):
        expected = csi_table(train[name], scored[name], categorical=categorical)["csi"]
        assert got[name] == pytest.approx(expected, rel=1e-12, abs=1e-12), name
    assert got["term"] >= 0.25 and got["region"] >= 0.25  # the blanks and the missing regions show


def _late_payments(n: int, code_share: float, seed: int) -> np.ndarray:
    """Counts of late payments (mostly 0, up to 13) with a share of them at the codes 96 and 98."""
    rng = np.random.default_rng(seed)
    late = np.minimum(rng.poisson(0.3, n), 13).astype(float)
    coded = rng.random(n) < code_share
    late[coded] = np.where(rng.random(int(coded.sum())) < 0.8, 98.0, 96.0)
    return late


def test_a_rise_in_codes_among_counts_is_drift_in_score_and_in_the_report() -> None:
    """96 and 98 ("unknown", "refused") in 0.2 % of the training counts, in 3.4 % of the scored
    ones (a 17-fold rise): deciles put them in one bin with every count above zero, so the CSI
    read stable (a walk-through of Give Me Some Credit, 2026-12-05). They have a bin of their
    own now, in the bins export records and in the report's CSI alike."""
    train = pd.DataFrame({"late": _late_payments(20_000, 0.002, 0), "amount": np.arange(20_000.0)})
    scored = pd.DataFrame({"late": _late_payments(20_000, 0.034, 1), "amount": np.arange(20_000.0)})
    record = reference_record(train, ["late", "amount"], [])
    edges = next(f["edges"] for f in record["fields"] if f["field"] == "late")
    assert float(train["late"][train["late"] < 90].max()) in edges  # the largest count: the codes lie above it
    bins = FeatureBins(record, ["late", "amount"])
    got = bins.csi(_settled(bins, pa.Table.from_pandas(scored, preserve_index=False)))
    report = csi_table(train["late"], scored["late"])
    assert got["late"] == pytest.approx(report["csi"], rel=1e-12)
    assert got["late"] >= 0.1, got  # moderate at least: was 0.025 with deciles alone
    # Independently: the codes' bin alone, PSI of its shares and of the rest's.
    e, a = (np.array([np.mean(f["late"] <= 13), np.mean(f["late"] > 13)]) for f in (train, scored))
    assert got["late"] >= float(np.sum((a - e) * np.log(a / e))) - 1e-9
    assert got["amount"] == pytest.approx(0.0, abs=1e-9)


def _settled(bins: FeatureBins, table: pa.Table) -> dict[str, np.ndarray]:
    """One chunk's counts as a run's counts per bin."""
    return {name: settle(counted, table.num_rows, SAMPLE_ROWS) for name, counted in bins.count(table, 1).items()}


def test_the_counts_are_the_same_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stability, "SAMPLE_ROWS", 1000)  # 70,000 rows: one of each 128
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=70_000), "c": rng.choice(["a", "b", None], 70_000)})
    bins = FeatureBins(reference_record(frame.head(5000), ["x"], ["c"]), ["x", "c"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    whole = {k: settle(v, 70_000, 1000) for k, v in bins.count(table, 1).items()}
    for size, known in ((999, False), (65536, True), (4096, False), (70_000, False)):
        total = bins.empty()
        for lo in range(0, 70_000, size):
            for name, counted in bins.count(table.slice(lo, size), lo + 1, 70_000 if known else None).items():
                total[name] += counted
        settled = {k: settle(v, 70_000, 1000).tolist() for k, v in total.items()}
        assert settled == {k: v.tolist() for k, v in whole.items()}, size
    # The rows binned are one of each 128 of the file (stability.sample), counted as an independent
    # binning of them says.
    every = frame.iloc[sample(1, 70_000, 1000, 70_000)[0]]
    assert int(whole["x"].sum()) == len(every) == 547
    edges = np.asarray(bins.numeric["x"])
    assert whole["x"].tolist() == np.bincount(np.searchsorted(edges, every["x"]), minlength=edges.size + 2).tolist()
    assert whole["c"].tolist() == [int((every["c"] == "a").sum()), int((every["c"] == "b").sum()), 0,
                                   int(every["c"].isna().sum())]


def test_a_time_ordered_file_is_judged_on_all_of_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file sorted by time whose last half shifted: the run's CSI is the whole file's, not its
    first rows' (a sample weighted to the head blamed the time field and hid the shift)."""
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"x": rng.normal(size=20_000), "t": np.arange(20_000.0)})
    scored = pd.DataFrame({"x": np.r_[rng.normal(size=100_000), rng.normal(1.5, 1.0, 100_000)],
                           "t": np.linspace(0, 20_000, 200_000)})
    bins = FeatureBins(reference_record(train, ["x", "t"], []), ["x", "t"])
    table = pa.Table.from_pandas(scored, preserve_index=False)
    counts = bins.empty()
    for lo in range(0, len(scored), 65536):  # as a CSV run reads it: the row count unknown until the end
        for name, counted in bins.count(table.slice(lo, 65536), lo + 1).items():
            counts[name] += counted
    got = bins.csi({k: settle(v, len(scored), SAMPLE_ROWS) for k, v in counts.items()})
    full = {name: csi_table(train[name], scored[name], categorical=False)["csi"] for name in ("x", "t")}
    assert got["x"] == pytest.approx(full["x"], rel=0.05) and got["x"] >= 0.25
    assert got["t"] == pytest.approx(full["t"], abs=0.01) and got["t"] < 0.1


def test_run_counts_settle_chunks_and_ray_blocks_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray block's record holds only the levels it counted; read back and added, the run's CSI
    and PSI are the local run's."""
    from finlite.runtime import batch
    from finlite.runtime.ray_engine import _from_levels, _used_levels

    monkeypatch.setattr(stability, "SAMPLE_ROWS", 500)
    monkeypatch.setattr(batch, "SAMPLE_ROWS", 500)
    monkeypatch.setattr(batch, "PSI_SAMPLE_ROWS", 2000)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": np.sort(rng.normal(size=30_000)), "c": rng.choice(["a", "b"], 30_000)})
    score = np.sort(rng.random(30_000)).astype(np.float32)
    bins = FeatureBins(reference_record(frame.sample(3000, random_state=0), ["x"], ["c"]), ["x", "c"])
    uppers = np.array([0.25, 0.5, 0.75])
    reference = (uppers, np.full(4, 0.25))
    local, ray = RunCounts(reference, fields=bins), RunCounts(reference, fields=bins)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for lo in range(0, 30_000, 7000):
        n = min(7000, 30_000 - lo)
        fields = bins.count(table.slice(lo, n), lo + 1)
        scored = batch.psi_bins(uppers, 4, score[lo:lo + n], lo + 1)
        local.add({}, scored, {}, 0, fields, rows=n)
        record = json.loads(json.dumps({"bins": _used_levels(scored),
                                        "fields": {k: _used_levels(v) for k, v in fields.items()}}))
        assert len(record["bins"]) < LEVELS / 2
        ray.add({}, _from_levels(record["bins"], 4), {}, 0,
                {k: _from_levels(v, bins.expected[k].size) for k, v in record["fields"].items()}, rows=n)
    assert local.csi() == ray.csi() and local.psi() == ray.psi()
    # Independently: one row of each 64 (30,000 rows in at most 500) and of each 16 for the scores.
    every = frame.iloc[sample(1, 30_000, 500, 30_000)[0]]
    assert local._field_counts()["c"].tolist() == [int((every["c"] == "a").sum()), int((every["c"] == "b").sum()), 0, 0]
    want = np.bincount(np.searchsorted(uppers, score[sample(1, 30_000, 2000, 30_000)[0]]), minlength=4)
    assert local.psi() == pytest.approx(float(np.sum((want / want.sum() - 0.25) * np.log(want / want.sum() / 0.25))),
                                        rel=1e-12)


def test_a_chunk_whose_sampled_values_are_all_blank_counts_them_as_missing() -> None:
    """Every sampled value of a category blank (a tail chunk's one sampled row, an all-null row
    group): no dictionary entry to look up, and no IndexError (a review)."""
    bins = FeatureBins(reference_record(pd.DataFrame({"c": ["a", "b"] * 50}), [], ["c"]), ["c"])
    for column in (pa.array([None] * 10, pa.string()), pa.array([None] * 10, pa.string()).dictionary_encode()):
        assert _settled(bins, pa.table({"c": column}))["c"].tolist() == [0, 0, 0, 10]


def test_codes_are_binned_as_the_encoder_reads_them() -> None:
    """A code read from a CSV as text ("94110.0", " 7 ") is the training code (94110, 7): no shift."""
    train = pd.DataFrame({"zip": [94110] * 50 + [7] * 50})
    bins = FeatureBins(reference_record(train, [], ["zip"]), ["zip"])
    text = pa.table({"zip": pa.array(["94110.0"] * 50 + [" 7 "] * 49 + [None])})
    counts = _settled(bins, text)["zip"].tolist()
    assert counts == [49, 50, 0, 1]  # the kept codes "7" and "94110" (sorted as text), other, missing
    assert bins.csi({"zip": np.array([50, 50, 0, 0])})["zip"] == pytest.approx(0.0)


def test_messy_values_are_one_category_as_the_encoder_reads_them_in_the_report_too() -> None:
    """Spaces, 1 against 1.0, a boolean written "true" / "TRUE": no shift at scoring time nor in the
    report's own CSI (the hold-out report compares another file's rows with the training rows)."""
    train = pd.DataFrame({"grade": ["A", "B"] * 50, "code": [1, 2] * 50, "flag": [True, False] * 50})
    messy = pd.DataFrame({"grade": ["A ", " B"] * 50, "code": [1.0, 2.0] * 50, "flag": ["true", "FALSE"] * 50})
    bins = FeatureBins(reference_record(train, [], ["grade", "code", "flag"]), ["grade", "code", "flag"])
    text = pa.Table.from_pandas(messy.astype(str), preserve_index=False)
    got = bins.csi(_settled(bins, text))
    assert got == {"grade": 0.0, "code": 0.0, "flag": 0.0}
    for name in ("grade", "code", "flag"):
        assert csi_table(train[name], messy[name], categorical=True)["csi"] == pytest.approx(0.0, abs=1e-12), name


@pytest.mark.parametrize(("train", "scored"), [
    (["True"] * 600 + ["False"] * 395 + ["x"] * 5, ["1"] * 600 + ["0"] * 400),  # a rare value that is no boolean
    ([True] * 600 + [False] * 395 + ["true"] * 5, ["true"] * 600 + ["False"] * 400),  # a rare second spelling
    (["A", "B"] * 400 + [" c "] * 200, ["a", "B ", "c", "C", ""] * 200),
    # CSV missing markers sent as text: a missing value in both, with or without training blanks
    # (a review, 2026-12-05: the report pooled them as other where score counted them missing).
    (["A", "B"] * 450 + [None] * 100, ["A", "B"] * 400 + ["n/a", " NULL "] * 100),
    (["A", "B"] * 450 + ["x", "y"] * 50, ["A", "B"] * 450 + ["n/a"] * 100),
    (["A", "n/a"] * 500, ["A", "n/a", "NA"] * 300),  # "n/a" a value of training: kept
    # "NA" in a few training rows (no kept value): missing on both sides, so the same rows scored
    # again read CSI 0 (the final read, 2026-12-05: 0.036, training's "NA" in other, the scored in missing).
    (["EU"] * 600 + ["US"] * 350 + ["NA"] * 8 + [f"v{i}" for i in range(42)],
     ["EU"] * 600 + ["US"] * 350 + ["NA"] * 8 + [f"v{i}" for i in range(42)]),
])
def test_score_and_the_report_agree_on_rare_values_and_spellings(train: list[object], scored: list[object]) -> None:
    """The scored values are looked up among the kept training values only, in both computations."""
    frame = pd.DataFrame({"v": pd.Series(train, dtype=object)})
    bins = FeatureBins(reference_record(frame, [], ["v"]), ["v"])
    got = bins.csi(_settled(bins, pa.table({"v": pa.array([str(x) for x in scored])})))["v"]
    assert got == pytest.approx(csi_table(frame["v"], pd.Series(scored, dtype=object), categorical=True)["csi"],
                                rel=1e-12, abs=1e-12)
    if list(train) == list(scored):
        assert got == pytest.approx(0.0, abs=1e-12)


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


def test_a_category_of_few_rows_gets_no_bin_of_its_own() -> None:
    """export.stability wrote every category of 1 % of the training rows by name with its count:
    in a table of 300 rows, values of 3 rows, a few customers' (a review, 2026-12-07). A value
    needs 10 rows as well."""
    import pandas as pd

    from finlite.runtime.stability import MIN_ROWS, reference_record

    frame = pd.DataFrame({"zip": ["Z1"] * 150 + ["Z2"] * 120 + [f"R{i}" for i in range(10) for _ in range(3)]})
    [field] = reference_record(frame, [], ["zip"])["fields"]
    assert MIN_ROWS == 10 and field["keys"] == ["Z1", "Z2"] and field["counts"] == [150, 120, 30, 0]


def test_a_column_keeping_no_value_is_counted_not_warned_of() -> None:
    """A column that keeps no value is unseen in every row by design: the per-field "coded
    otherwise" warning was a false alarm on every run (a review, 2026-12-07); with rare values
    unlisted, the warning says they count too."""
    from finlite.runtime.batch import unseen_notes

    notes = unseen_notes({"zip": 100}, 100, keyless={"zip"})
    assert len(notes) == 1 and notes[0].startswith("rows with a category training never saw") and "zip 100" in notes[0]
    unlisted = unseen_notes({"employer": 90}, 100, unlisted=10)
    assert any(n.startswith("warning: column 'employer' holds categories training never saw (or saw in fewer than 10 "
                            "rows, which it does not list) in 90% of the rows") for n in unlisted)
