"""Artifacts: round trip, compact sparse storage, tamper detection, atomic writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import finlite
from finlite.errors import ArtifactError
from finlite.methods import MagnitudePruning, prune
from finlite.models import TabularMLP
from finlite.models.serialize import load_weights, save_weights
from tests.conftest import FAST, make_loans


@pytest.fixture()
def artifact(tmp_path: Path) -> Path:
    out = tmp_path / "model"
    finlite.train(make_loans(400), target="defaulted", hidden=(16,), config=FAST, out=out)
    return out


def test_round_trip_scores_raw_rows(artifact: Path) -> None:
    art = finlite.load(artifact)
    frame = make_loans(400)
    p = art.predict_score(frame)
    assert p.shape == (400,) and np.all((p > 0) & (p < 1))
    expected = art.model.predict_proba(torch.from_numpy(art.preprocessor.transform(frame))).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    assert set(np.unique(art.predict(frame))) <= {0, 1}
    man = art.manifest
    assert man["seed"] == 0 and man["role"] == "teacher" and man["versions"]["torch"].startswith("2.13")
    # XGBoost comes as the xgboost-cpu distribution: its version is recorded all the same (it was
    # "not installed" in every manifest: a documentation review, 2026-12-05).
    import xgboost

    assert man["versions"]["xgboost"] == xgboost.__version__
    assert man["data"]["content_sha256"] and len(man["data"]["file_sha256"] or "x" * 64) == 64
    assert set(man["files"]) == {"weights.safetensors", "preprocessor.json"}
    assert man["metrics"]["test"]["auc"] > 0.6
    assert man["schema"]["target"] == "defaulted"


def test_predict_proba_has_scikit_learn_shape_and_predict_decides_at_the_operating_point(artifact: Path) -> None:
    art = finlite.load(artifact)
    frame = make_loans(400)
    proba, score = art.predict_proba(frame), art.predict_score(frame)
    assert proba.shape == (400, 2)
    np.testing.assert_allclose(proba[:, 1], score, rtol=0, atol=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # The default operating point: the teacher's score at the training split's bad rate.
    point = art.operating_point
    assert art.task == "binary" and point.method == "training_bad_rate" and art.cutoff == point.cutoff
    assert art.manifest["operating_point"]["flag_rate"] == pytest.approx(point.flag_rate)
    assert 0.05 < point.flag_rate < 0.95 and point.flagged_train == pytest.approx(point.flag_rate, abs=0.02)
    np.testing.assert_array_equal(art.predict(frame), (score >= point.cutoff).astype(np.int8))
    assert 0 < art.predict(frame).mean() < 1  # decisions are made: some rows flagged, not all


def test_artifacts_without_a_task_or_operating_point_read_as_binary_at_their_cutoff(artifact: Path) -> None:
    from finlite._manifest import manifest_digest

    man_path = artifact / "manifest.json"
    manifest = json.loads(man_path.read_text())
    for key in ("task", "operating_point"):
        del manifest[key]
    manifest["cutoff"] = 0.25
    manifest["manifest_sha256"] = manifest_digest(manifest)
    man_path.write_text(json.dumps(manifest))
    art = finlite.load(artifact)
    assert art.task == "binary" and art.cutoff == 0.25
    assert art.operating_point.method == "recorded" and art.operating_point.cutoff == 0.25
    manifest["task"] = "astrology"
    manifest["manifest_sha256"] = manifest_digest(manifest)
    man_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="Unknown task 'astrology'"):
        finlite.load(artifact)


def test_sparse_weights_are_stored_compactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TabularMLP(64, (128,), dropout=0.0)
    sparse = prune(model, MagnitudePruning(sparsity=0.9)).model
    save_weights(model, tmp_path / "dense.safetensors")
    counts = save_weights(sparse, tmp_path / "sparse.safetensors")
    dense_bytes = (tmp_path / "dense.safetensors").stat().st_size
    sparse_bytes = (tmp_path / "sparse.safetensors").stat().st_size
    assert sparse_bytes < 0.2 * dense_bytes
    assert counts["layers.0.weight"] == round(0.1 * 64 * 128)
    again = load_weights(sparse.config(), tmp_path / "sparse.safetensors")
    for a, b in zip(sparse.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("victim", ["weights.safetensors", "preprocessor.json"])
def test_tampered_file_is_refused(artifact: Path, victim: str) -> None:
    path = artifact / victim
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=rf"{victim}' has sha256 .* altered after saving"):
        finlite.load(artifact)


def test_edited_manifest_and_missing_file_are_refused(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(artifact, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["metrics"]["test"]["auc"] = 0.99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="modified after the artifact was saved"):
        finlite.load(copy)
    (artifact / "preprocessor.json").unlink()
    with pytest.raises(ArtifactError, match=r"preprocessor\.json' listed in the manifest is missing"):
        finlite.load(artifact)
    with pytest.raises(ArtifactError, match="nothing' does not exist"):
        finlite.load(tmp_path / "nothing")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ArtifactError, match="a-file' is not a directory"):
        finlite.load(tmp_path / "a-file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match=r"has no manifest\.json"):
        finlite.load(tmp_path / "empty")


def test_existing_output_is_not_overwritten(artifact: Path) -> None:
    before = (artifact / "manifest.json").read_bytes()
    with pytest.raises(ArtifactError, match="already exists; choose another path or pass overwrite=True"):
        finlite.train(make_loans(100), target="defaulted", config=FAST, out=artifact)
    assert (artifact / "manifest.json").read_bytes() == before


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.artifact as art_mod

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(art_mod.Preprocessor, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        finlite.train(make_loans(200), target="defaulted", hidden=(8,), config=FAST, out=tmp_path / "m")
    assert list(tmp_path.iterdir()) == []  # neither the artifact nor a temporary directory


def test_overwrite_replaces_whole_artifact(artifact: Path) -> None:
    finlite.train(make_loans(300), target="defaulted", hidden=(8,), seed=3, config=FAST, out=artifact, overwrite=True)
    assert finlite.load(artifact).manifest["seed"] == 3
    assert [p.name for p in artifact.parent.iterdir() if p.name.startswith(".")] == []


def test_the_training_table_is_hashed_once_to_check_it_and_to_record_it(teacher_dir: Path, german_csv: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from finlite import artifact as artifact_module
    from finlite.artifact import prepare_if_trained_on, prepare_like
    from finlite.data import io, prepared
    from finlite.data.io import read_table

    calls: list[int] = []

    def counted(frame: object) -> str:
        calls.append(1)
        return io.frame_sha256(frame)  # type: ignore[arg-type]

    monkeypatch.setattr(artifact_module, "frame_sha256", counted)
    monkeypatch.setattr(prepared, "frame_sha256", counted)
    art = finlite.load(teacher_dir)
    table = read_table(german_csv)
    got = prepare_like(art, table)
    assert len(calls) == 1 and got.data_sha256 == art.manifest["data"]["content_sha256"]
    other = read_table(table.frame.iloc[:-1])  # not the training table: no split, no second hash
    assert prepare_if_trained_on(art, other) is None and len(calls) == 2


@pytest.mark.parametrize(("files", "said"), [
    ({"../outside.txt": "x"}, r"names '\.\./outside\.txt', which is not a plain file name"),
    ({"/tmp/abs.txt": "x"}, r"names '/tmp/abs\.txt', which is not a plain file name"),
    ({".hidden": "x"}, r"names '\.hidden', which is not a plain file name"),
    # The manifest refuses a name with ".." anywhere: written, the artifact would never load.
    ({"notes..txt": "x"}, r"names 'notes\.\.txt', which is not a plain file name"),
    # A case-insensitive file system would write it over the real one.
    ({"Preprocessor.JSON": "{}"}, r"names 'Preprocessor\.JSON', a file finlite writes"),
    ({"scorecard.json": "{}"}, r"names 'scorecard\.json', a file finlite writes"),
    ({"preprocessor.json": "{}"}, r"names 'preprocessor\.json', a file finlite writes into the artifact itself"),
    ({"manifest.json": "{}"}, r"names 'manifest\.json', a file finlite writes"),
    ({"report.json": "{}"}, r"names 'report\.json', a file finlite writes"),  # compress's own report
    ({"notes.txt": 5}, r"gives 'notes\.txt' a int; each file's content is text"),
    (["notes.txt"], r"is a dict of file name to text; got list"),
])
def test_extra_files_stay_inside_the_artifact_and_never_replace_its_own(
        artifact: Path, tmp_path: Path, files: object, said: str) -> None:
    """compress(extra_files={"../x.txt": ...}) wrote beside the artifact, an absolute name anywhere,
    and "preprocessor.json" replaced the real one so the artifact no longer loaded (a review of the
    Python API, 2026-12-05). Refused before any training, naming the file."""
    from finlite.errors import ConfigError

    data = make_loans(400)
    out = tmp_path / "student"
    with pytest.raises(ConfigError, match=said) as info:
        finlite.compress(artifact, data, student_hidden=[4], config=FAST, out=out, extra_files=files)  # type: ignore[arg-type]
    assert info.value.param == "extra_files"
    assert not out.exists() and not (tmp_path / "outside.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p != artifact] == []  # nothing written beside the teacher


def test_extra_files_with_plain_names_are_written_and_listed(artifact: Path, tmp_path: Path) -> None:
    out = tmp_path / "student"
    finlite.compress(artifact, make_loans(400), student_hidden=[4], config=FAST, out=out,
                     extra_files={"approval-note.md": "approved by the committee"}, progress=False)
    assert (out / "approval-note.md").read_text() == "approved by the committee"
    assert "approval-note.md" in json.loads((out / "manifest.json").read_text())["files"]


def test_a_table_reordered_or_cut_is_told_by_what_differs(teacher_dir: Path, german_csv: Path) -> None:
    """A notebook's frame with its columns reversed was refused as "not the table", with "the same
    rows in the same order" and nothing of the columns (a notebook walk-through, 2026-12-06)."""
    import pandas as pd

    from finlite.artifact import prepare_like
    from finlite.errors import DataError

    teacher = finlite.load(teacher_dir)
    frame = pd.read_csv(german_csv)
    with pytest.raises(DataError, match=r"It has as many rows \(1,000\): if it is that table, its columns are in "
                                        r"another order or of other types"):
        prepare_like(teacher, frame[frame.columns[::-1]])
    with pytest.raises(DataError, match=r"It has 900 labelled rows and the training table had 1,000\. Compressing"):
        prepare_like(teacher, frame.head(900))
    # Rows with no outcome are not counted: training leaves them out (the manifest counts the labelled).
    blank = frame[frame.columns[::-1]].copy()
    blank.loc[3, "creditability"] = None
    with pytest.raises(DataError, match=r"It has 999 labelled rows and the training table had 1,000"):
        prepare_like(teacher, blank)
    padded = pd.concat([frame.assign(creditability=frame["creditability"]), frame.head(2).assign(creditability=None)])
    with pytest.raises(DataError, match=r"It has as many rows \(1,000\)"):
        prepare_like(teacher, padded[padded.columns[::-1]])
    assert prepare_like(teacher, frame).split.test.size == 200  # as it was: the same table


def test_a_loaded_artifact_scores_records_as_the_predictor_does(artifact: Path) -> None:
    """finlite.load(...).predict_score took only a DataFrame (a dict gave "Scoring takes a pandas
    DataFrame") and had no score_record, where the Predictor takes both (a notebook walk-through,
    2026-12-06)."""
    from finlite.errors import DataError

    art = finlite.load(artifact)
    frame = make_loans(40, seed=3).drop(columns="defaulted")
    records = frame.to_dict("records")
    expected = art.predict_score(frame)
    np.testing.assert_array_equal(art.predict_score(records), expected)
    assert art.score_record(records[5]) == pytest.approx(float(expected[5]), abs=0)
    np.testing.assert_array_equal(art.predict(records[:3]), art.predict(frame.head(3)))
    assert art.predict_proba(records[0]).shape == (1, 2)
    for bad in ("a,b", [], 7):
        with pytest.raises(DataError, match=r"Scoring takes a pandas DataFrame, a record \(a dict"):
            art.predict_score(bad)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"item 1 of the list is a int, not a record"):
        art.predict_score([records[0], 5])  # type: ignore[list-item]
    # A field missing from one record of several is refused as from one alone (it was a blank,
    # scored with the training median: a review), and score_record takes one record only.
    short = {k: v for k, v in records[1].items() if k != "purpose"}
    with pytest.raises(DataError, match=r"Record 1 lacks 1 field\(s\) the model reads: purpose"):
        art.predict_score([records[0], short])
    with pytest.raises(DataError, match=r"score_record takes one record .* got list"):
        art.score_record(records)  # type: ignore[arg-type]

