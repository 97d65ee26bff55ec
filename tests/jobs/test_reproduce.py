"""The reproduce job: a recorded run is run again and compared, metric by metric and by weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import finlite
from finlite._manifest import amend_artifact
from finlite.data.io import frame_sha256, read_table
from finlite.data.market import MarketSpec
from finlite.errors import ConfigError, DataError
from finlite.jobs.forecast import train_forecaster
from finlite.jobs.reproduce import (
    DECISION_CUTOFF,
    REL_TOL,
    compare_metrics,
    flatten_metrics,
    is_timing,
    render_reproduction,
    reproduce,
)
from finlite.recipe.presets import load_preset
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig
from tests.conftest import FAST
from tests.jobs.test_forecast import write_prices

# Students train a few epochs: every compress (and every rerun of one) builds a full report.
QUICK = TrainConfig(epochs=5, patience=2, progress=False)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory, teacher_dir: Path, german_csv: Path) -> Path:
    """A distilled and pruned student at its own operating point (a flag rate), compressed with
    timing on (as the CLI does by default), its report judging two protected columns. Each
    compress builds a full report: few of them here."""
    out = tmp_path_factory.mktemp("rep") / "student"
    finlite.compress(teacher_dir, german_csv, student_hidden=(8,), pruning=finlite.methods.MagnitudePruning(sparsity=0.5),
                     config=QUICK, fine_tune=QUICK, out=out, timing=True, progress=False, flag_rate=0.2,
                     protected=("foreign_worker", "age_in_years"))
    return out


def _tampered(source: Path, dest: Path, key: str, value: Any) -> Path:
    """A copy of ``source`` whose recorded test metric ``key`` is ``value`` (manifest digest updated)."""
    shutil.copytree(source, dest)
    metrics = finlite.load(dest).manifest["metrics"]
    metrics["test"][key] = value
    amend_artifact(dest, {}, {"metrics": metrics})
    return dest


# -- comparing ----------------------------------------------------------------------------------
def test_metrics_compare_within_the_relative_tolerance_and_skip_timing() -> None:
    recorded = {"auc": 0.8, "rows": 200, "latency_p50_us": 12.0, "batch": 4096, "band": [{"agreement": 0.9}], "dm": {"p": None}}
    close = {"auc": 0.8 * (1 + REL_TOL / 10), "rows": 200, "latency_p50_us": 99.0, "band": [{"agreement": 0.9}],
             "dm": {"p": None}}
    checks, skipped = compare_metrics(recorded, close)
    assert skipped == ["latency_p50_us", "batch"]
    assert [c.name for c in checks] == ["auc", "rows", "band[0].agreement", "dm.p"]
    assert all(c.match for c in checks)
    # 1e-8 relative is a difference; a metric only one side has never matches.
    far, _ = compare_metrics(recorded, {**close, "auc": 0.8 * (1 + 1e-8), "extra": 1.0})
    verdict = {c.name: c.match for c in far}
    assert verdict["auc"] is False and verdict["extra"] is False and verdict["rows"] is True
    assert flatten_metrics({"a": {"b": [1, 2]}}) == {"a.b[0]": 1, "a.b[1]": 2}
    with pytest.raises(ConfigError, match=r"rel_tol must be a number from 0 to under 1; got 2"):
        compare_metrics({}, {}, rel_tol=2)


# -- students -----------------------------------------------------------------------------------
def test_a_recorded_teacher_path_too_long_to_look_up_is_said_briefly(tmp_path: Path) -> None:
    """A forged manifest's 100,000-character teacher path ended in a 100 KB "File name too long"
    naming neither the file nor the field (a security review, 2026-12-06)."""
    from finlite.jobs.reproduce import _find_teacher, look_for_teacher

    art = SimpleNamespace(path=tmp_path / "student", manifest={})
    provenance = {"path": "a" * 100_000, "manifest_sha256": "0" * 64}
    teacher, seen = look_for_teacher(art, provenance, None)  # type: ignore[arg-type]
    assert teacher is None and seen and all("cannot be looked up (File name too long)" in s for s in seen)
    assert all(len(s) < 400 for s in seen) and "(100,000 characters)" in seen[0]
    with pytest.raises(ConfigError, match=r"recorded path 'a{200}… "
                                          r"\(100,000 characters\)'") as exc:
        _find_teacher(art, provenance, None)  # type: ignore[arg-type]
    assert len(str(exc.value)) < 2000


def test_the_encoding_is_compared_on_the_keys_the_recorded_file_has() -> None:
    """An artifact made before each number's training range was recorded reproduces the same
    encoding (a review: it failed for the rerun's extra low/high keys); another median does not."""
    import json

    from finlite.jobs.reproduce import _encoding_sha256

    old = {"format": "x", "numeric": [{"name": "a", "median": 1.0}], "schema": {"target": "y", "notes": ["n1"]}}
    new = {"format": "x", "numeric": [{"name": "a", "median": 1.0, "low": 0.0, "high": 2.0}],
           "schema": {"target": "y", "notes": ["n2"]}, "extra": 1}
    recorded = json.dumps(old).encode()
    assert _encoding_sha256(json.dumps(new).encode(), like=recorded) == _encoding_sha256(recorded)
    other = {**new, "numeric": [{"name": "a", "median": 3.0, "low": 0.0, "high": 2.0}]}
    assert _encoding_sha256(json.dumps(other).encode(), like=recorded) != _encoding_sha256(recorded)
    assert _encoding_sha256(b"not json") is None


def test_an_edited_preprocessing_or_a_swapped_onnx_model_is_not_reproduced(exported_dir: Path, teacher_dir: Path,
                                                                            german_csv: Path, tmp_path: Path) -> None:
    """A teacher whose imputation median was edited, and a student whose model.onnx was swapped
    for its teacher's graph (each manifest re-hashed, unsigned), were "reproduced" (an MLOps
    walk-through, 2026-12-06): the preprocessing is compared by what it encodes, and the served
    graph against the reproduced weights."""
    import json

    from finlite._manifest import amend_artifact

    spec = json.loads((teacher_dir / "preprocessor.json").read_text())
    edited = tmp_path / "teacher"
    shutil.copytree(teacher_dir, edited)
    spec["numeric"][0]["median"] = float(spec["numeric"][0]["median"]) * 3 + 1
    amend_artifact(edited, {"preprocessor.json": json.dumps(spec).encode()}, {})
    result = reproduce(edited, german_csv)
    assert not result.matched and result.files["preprocessor.json (encoding)"]["match"] is False
    assert result.files["weights.safetensors"]["match"] is True  # the weights alone said "reproduced"
    swapped = tmp_path / "student"
    shutil.copytree(exported_dir, swapped)
    other = tmp_path / "other.onnx"
    from finlite.jobs.export import export_artifact

    teacher_copy = tmp_path / "teacher-exported"
    shutil.copytree(teacher_dir, teacher_copy)
    export_artifact(teacher_copy, german_csv)
    other.write_bytes((teacher_copy / "model.onnx").read_bytes())
    amend_artifact(swapped, {"model.onnx": other.read_bytes()}, {})
    served = reproduce(swapped, german_csv, teacher=teacher_dir)
    key = "model.onnx, model_int8.onnx (served)"  # both exported files are checked, and named
    assert served.files[key]["match"] is False and not served.matched
    assert "disagrees with the weights" in served.files[key]["reproduced"]
    assert render_reproduction(served).endswith("NOT reproduced: the metrics and the weights match, but the exported "
                                                "model that score and serve run disagrees with the weights (see above)")
    plain = reproduce(exported_dir, german_csv, teacher=teacher_dir)
    assert plain.files[key]["match"] is True


def test_a_compressed_artifact_reproduces_exactly(student_dir: Path, german_csv: Path) -> None:
    result = reproduce(student_dir, german_csv)
    assert result.job == "compress" and result.deterministic
    assert result.matched and result.weights_match and result.metrics_match
    recorded = finlite.load(student_dir).manifest
    # Every quality metric recorded for the test split was compared, the timing ones skipped and named.
    test = recorded["metrics"]["test"]
    timing = sorted(k for k in test if k.startswith(("latency", "rows_per_second")) or k in ("batch", "timed"))
    assert timing, "the fixture compresses with timing on"
    assert sorted(result.skipped) == sorted(f"test.{k}" for k in timing)
    assert {c.name for c in result.metrics} == {*(f"test.{k}" for k in test if k not in timing), DECISION_CUTOFF}
    auc = next(c for c in result.metrics if c.name == "test.auc")
    assert auc.recorded == test["auc"] == auc.reproduced
    assert result.files["weights.safetensors"]["recorded"] == recorded["files"]["weights.safetensors"]
    assert result.data_sha256 == frame_sha256(read_table(german_csv).frame)
    assert recorded["operating_point"]["method"] == "flag_rate"  # set again from the recorded flag rate
    text = render_reproduction(result)
    assert "test.auc" in text and "weights match: yes" in text and "skipped" in text
    # report.json's evidence is the rerun's, its fairness section included (the rerun is given the
    # recorded report options), the cost section's timings left out.
    ev = result.evidence
    assert ev is not None and ev["judged"] and ev["match"] and ev["different"] == 0 and ev["compared"] > 500, ev
    assert ev["only_recorded"] == 0 and ev["only_reproduced"] == 0
    assert f"report.json evidence: {ev['compared']:,} values compared, 0 differ" in text
    # The documents a reader signs: rendered again from report.json, or the rerun's (report.md but for
    # the timings the rerun does not take).
    assert {k: v["match"] for k, v in result.documents.items()} == {
        "report.html": True, "MODEL_CARD.md": True, "report.md": True, "flips.csv": True}
    assert "MODEL_CARD.md against report.json, rendered again: the same" in text
    assert "report.md against the rerun's, timing rows aside: the same" in text


def test_an_edited_report_is_not_reproduced(student_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """report.json's student AUC edited (0.844 to 0.944) and the manifest re-hashed: "reproduced",
    as only the manifest's metrics were compared (a validator's walk-through, 2026-12-06)."""
    import json

    copy = tmp_path / "copy"
    shutil.copytree(student_dir, copy)
    report = json.loads((copy / "report.json").read_text())
    true_auc = report["student"]["auc"]
    report["student"]["auc"] = true_auc + 0.1
    amend_artifact(copy, {"report.json": json.dumps(report).encode()}, {})
    result = reproduce(copy, german_csv)
    assert result.metrics_match and result.weights_match and not result.matched
    assert result.evidence is not None and result.evidence["different"] == 1
    assert result.evidence["differences"] == [f"student.auc: report.json {true_auc + 0.1:.12g}, the manifest "
                                              f"{true_auc:.12g}",
                                              f"student.auc: recorded {true_auc + 0.1:.12g}, reproduced "
                                              f"{true_auc:.12g}"]
    text = render_reproduction(result)
    assert text.endswith("NOT reproduced: the metrics match but report.json's evidence differs from the rerun's "
                         "(see above)")
    # A report other code built (an earlier commit of the same dev version, whose rules may differ by
    # design) or an older one without the code's digest is listed, not judged (a review, 2026-12-06:
    # an honest artifact of an earlier commit was "NOT reproduced").
    from finlite.jobs.reproduce import compare_evidence

    assert report["finlite_code_sha256"] == json.loads((student_dir / "report.json").read_text())[
        "finlite_code_sha256"]
    honest = json.loads((student_dir / "report.json").read_text())
    for digest in ("0" * 64, None):
        # An honest report other code built: its differences listed, not judged, and said so.
        earlier = {**honest, "finlite_code_sha256": digest}
        earlier["sections"] = [dict(sec) for sec in honest["sections"]]
        earlier["sections"][0] = {**earlier["sections"][0], "status": "FAIL"}  # another rule's verdict
        other = compare_evidence(json.dumps(earlier).encode(), (student_dir / "report.json").read_bytes())
        assert other["different"] >= 1 and not other["judged"]
        amend_artifact(copy, {"report.json": json.dumps(earlier).encode()}, {})
        listed = reproduce(copy, german_csv)
        assert listed.matched and listed.evidence is not None and not listed.evidence["judged"]
        text = render_reproduction(listed)
        assert "(built by other finlite code: listed, not part of the verdict)" in text
        assert text.endswith("were not verified against the rerun")
        # An edited student AUC with the digest removed is still caught: the report's student metrics
        # must be the manifest's own, whatever code built it (a review, 2026-12-06).
        stripped = {**report, "finlite_code_sha256": digest}
        amend_artifact(copy, {"report.json": json.dumps(stripped).encode()}, {})
        caught = reproduce(copy, german_csv)
        assert not caught.matched and caught.evidence is not None and caught.evidence["judged"]
        assert caught.evidence["differences"][0].startswith("student.auc: report.json ")
    # Nor does deleting the block, or editing the summary section's copy, get past it (a review).
    from finlite.jobs.reproduce import compare_evidence as check

    metrics = json.loads((student_dir / "manifest.json").read_text())["metrics"]
    gone = {k: v for k, v in honest.items() if k not in ("student", "finlite_code_sha256")}
    assert check(json.dumps(gone).encode(), (student_dir / "report.json").read_bytes(),
                 manifest_metrics=metrics)["inconsistent_with_manifest"] > 0
    edited = json.loads(json.dumps(honest))
    edited.pop("finlite_code_sha256")
    summary = next(sec for sec in edited["sections"] if sec["id"] == "summary")
    summary["metrics"]["student"]["auc"] += 0.1
    said = check(json.dumps(edited).encode(), (student_dir / "report.json").read_bytes(), manifest_metrics=metrics)
    assert said["judged"] and not said["match"]
    assert said["differences"][0].startswith("sections.summary.metrics.student.auc: report.json ")
    broken = compare_evidence(b"{not json", (student_dir / "report.json").read_bytes())
    assert not broken["match"] and broken["differences"][0].startswith("the recorded report.json cannot be read")


def test_a_tampered_metric_is_not_reproduced_and_a_moved_teacher_is_found_when_given(
        student_dir: Path, german_csv: Path, teacher_dir: Path, tmp_path: Path) -> None:
    recorded = finlite.load(student_dir).manifest["metrics"]["test"]["auc"]
    copy = _tampered(student_dir, tmp_path / "copy", "auc", recorded + 0.01)
    # The recorded teacher moved away as well: refused (naming where it was looked for) unless passed.
    steps = finlite.load(copy).manifest["steps"]
    steps[0]["teacher"] = {**steps[0]["teacher"], "path": str(tmp_path / "gone" / "teacher")}
    amend_artifact(copy, {}, {"steps": steps})
    with pytest.raises(ConfigError, match=r"gone/teacher: missing"):
        reproduce(copy, german_csv)
    result = reproduce(copy, german_csv, teacher=teacher_dir)
    assert not result.matched and not result.metrics_match
    assert result.weights_match  # the model is the same: only the record was changed
    wrong = [c for c in result.metrics if not c.match]
    assert [c.name for c in wrong] == ["test.auc"]
    assert wrong[0].recorded == pytest.approx(recorded + 0.01) and wrong[0].reproduced == pytest.approx(recorded)
    assert "NOT reproduced" in render_reproduction(result)


def test_edited_documents_are_not_reproduced(student_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """The card's WARN made PASS, an AUC edited in report.html, a flipped row deleted from
    flips.csv, a status edited in report.md, each re-hashed: "reproduced", as only report.json
    was compared (an auditor's walk-through, 2026-12-06)."""
    from finlite.jobs.reproduce import compare_documents

    copy = tmp_path / "copy"
    shutil.copytree(student_dir, copy)
    card = (copy / "MODEL_CARD.md").read_text()
    status = json.loads((copy / "report.json").read_text())["status"]
    other = "PASS" if status != "PASS" else "FAIL"
    assert f"**{status}**" in card
    amend_artifact(copy, {"MODEL_CARD.md": card.replace(f"**{status}**", f"**{other}**", 1).encode()}, {})
    result = reproduce(copy, german_csv)
    assert result.metrics_match and result.weights_match and result.evidence_match and not result.matched
    assert result.documents["MODEL_CARD.md"] == {"match": False, "against": "report.json, rendered again"}
    assert all(d["match"] for name, d in result.documents.items() if name != "MODEL_CARD.md")
    text = render_reproduction(result)
    assert "MODEL_CARD.md against report.json, rendered again: DIFFERS" in text
    assert text.endswith("NOT reproduced: the metrics and report.json match, but MODEL_CARD.md differ from what "
                         "report.json renders or the rerun wrote: edited after the run (see above)")
    # The others, against the student's own files as the rerun's (a deterministic rerun writes them so).
    art = finlite.load(student_dir)
    own = {n: (student_dir / n).read_bytes() for n in ("report.md", "flips.csv")}
    assert all(d["match"] for d in compare_documents(art, own, deterministic=True).values())
    html = (student_dir / "report.html").read_text()
    auc = f"{art.manifest['metrics']['test']['auc']:.4g}"
    assert auc in html
    flips = own["flips.csv"].decode().splitlines(keepends=True)
    assert len(flips) > 2
    md = own["report.md"].decode()
    edits = {"report.html": html.replace(auc, "0.9999").encode(),
             "flips.csv": "".join(flips[:1] + flips[2:]).encode(),
             "report.md": md.replace("| AUC |", "| AUC (edited) |", 1).encode()}
    assert edits["report.md"] != own["report.md"]
    for name, edited in edits.items():
        shutil.rmtree(copy)
        shutil.copytree(student_dir, copy)
        amend_artifact(copy, {name: edited}, {})
        judged = compare_documents(finlite.load(copy), own, deterministic=True)
        assert [n for n, d in judged.items() if not d["match"]] == [name]
    # Not deterministic: the rerun's files are not judged, the rendered ones still are.
    loose = compare_documents(finlite.load(copy), own, deterministic=False)
    assert loose["report.md"] == {"match": None, "against": "the rerun's: not judged (the run is not deterministic)"}
    assert loose["report.html"]["match"] is True


def test_a_moved_decision_cutoff_is_not_reproduced(student_dir: Path, german_csv: Path, teacher_dir: Path,
                                                   tmp_path: Path) -> None:
    """The manifest's cutoff and operating point (what score and serve decide at) moved together
    and re-hashed: "reproduced", as only metrics.test.cutoff was compared (an auditor's walk-through,
    2026-12-06: 126 flagged rows instead of 283)."""
    for source, name in ((student_dir, "student"), (teacher_dir, "teacher")):
        copy = tmp_path / name
        shutil.copytree(source, copy)
        manifest = finlite.load(copy).manifest
        real = manifest["cutoff"]
        amend_artifact(copy, {}, {"cutoff": 0.6, "operating_point": {**manifest["operating_point"], "cutoff": 0.6}})
        assert finlite.load(copy).cutoff == 0.6
        result = reproduce(copy, german_csv)
        assert not result.matched and not result.metrics_match and result.weights_match
        wrong = [c for c in result.metrics if not c.match]
        assert [(c.name, c.recorded, c.reproduced) for c in wrong] == [(DECISION_CUTOFF, 0.6, pytest.approx(real))]
        assert "NOT reproduced" in render_reproduction(result)


def test_other_data_is_refused_naming_both_hashes(student_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    other = german.copy()
    other.iloc[0, 0] = other.iloc[1, 0]
    path = tmp_path / "other.csv"
    other.to_csv(path, index=False)
    found = frame_sha256(read_table(path).frame)
    recorded = finlite.load(student_dir).manifest["data"]["content_sha256"]
    assert found != recorded
    with pytest.raises(DataError, match=rf"content sha256 is {found}, the manifest records {recorded}"):
        reproduce(student_dir, path)


def test_a_changed_teacher_is_named(student_dir: Path, german_csv: Path, teacher_dir: Path) -> None:
    sha = finlite.load(teacher_dir).manifest["manifest_sha256"]
    # Another artifact given as the teacher: its manifest sha256 is not the recorded one.
    with pytest.raises(ConfigError, match=rf"recorded path '{teacher_dir}', manifest sha256 {sha}\) is missing or "
                                          r"changed: .*not the recorded one.*teacher=PATH"):
        reproduce(student_dir, german_csv, teacher=student_dir)


def test_a_teacher_edited_beyond_an_export_is_said_and_an_exported_one_is_not(
        student_dir: Path, german_csv: Path, teacher_dir: Path, tmp_path: Path) -> None:
    """A teacher whose recorded metrics were edited (manifest re-hashed) passed as "the recorded
    teacher" by its model files, and what it changed was laid on the rerun (a review,
    2026-12-06): a warning now names both digests. An export since is no such change."""
    from finlite.jobs.compress import teacher_difference
    from finlite.jobs.export import export_artifact

    recorded = finlite.load(student_dir).manifest["steps"][0]["teacher"]
    exported = tmp_path / "exported"
    shutil.copytree(teacher_dir, exported)
    export_artifact(exported, german_csv)
    assert finlite.load(exported).manifest["manifest_sha256"] != recorded["manifest_sha256"]
    assert teacher_difference(finlite.load(exported).manifest, recorded) is None
    result = reproduce(student_dir, german_csv, teacher=exported)
    assert result.matched and not any(n.startswith("warning:") for n in result.notes)
    edited = _tampered(teacher_dir, tmp_path / "edited", "auc", 0.95)
    now = finlite.load(edited).manifest["manifest_sha256"]
    result = reproduce(student_dir, german_csv, teacher=edited)
    warning = next(n for n in result.notes if n.startswith("warning:"))
    assert warning == (f"warning: the teacher's manifest (sha256 {now}) is not the one recorded at compression "
                       f"({recorded['manifest_sha256']}), and differs by more than an export since: its model files "
                       "are the recorded ones, but its other fields (cut-off, metrics, data, settings) may have been "
                       "edited; a difference below may be the teacher's, not the rerun's")
    assert f"\n{warning}\n" in render_reproduction(result)  # printed as a warning, not a note
    # A teacher exported before compression and again since (with --int8) is no edited one: the
    # record keeps its digest without the exports (a review, 2026-12-06: it was warned of).
    twice = tmp_path / "twice"
    shutil.copytree(teacher_dir, twice)
    export_artifact(twice, german_csv)
    student = tmp_path / "student"
    finlite.compress(twice, german_csv, student_hidden=(8,), config=QUICK, fine_tune=QUICK, out=student,
                     timing=False, progress=False)
    export_artifact(twice, german_csv, int8=True)
    provenance = finlite.load(student).manifest["steps"][0]["teacher"]
    assert teacher_difference(finlite.load(twice).manifest, provenance) is None
    # A record made before the digest without exports: an exported teacher is not accused, an
    # edited one that was never exported is.
    older = {k: v for k, v in provenance.items() if k != "manifest_core_sha256"}
    assert teacher_difference(finlite.load(twice).manifest, older) is None
    assert teacher_difference(finlite.load(edited).manifest,
                              {k: v for k, v in recorded.items() if k != "manifest_core_sha256"}) is not None


def _planned_student_reproduces(teacher: Path, data: Path, out: Path, sparsity: float) -> None:
    """A student pruned by a ready plan (a dry run's), compressed and then reproduced: the same weights."""
    pruning = finlite.methods.MagnitudePruning(sparsity=sparsity, granularity="neuron")
    dry = finlite.compress(teacher, data, student_hidden=(8,), pruning=pruning, config=QUICK, fine_tune=QUICK,
                           plan_only=True, progress=False)
    assert dry.plan is not None
    finlite.compress(teacher, data, student_hidden=(8,), pruning=pruning, plan=dry.plan, config=QUICK,
                     fine_tune=QUICK, out=out, timing=False, progress=False)
    result = reproduce(out, data)
    assert result.matched and result.weights_match
    assert "the pruning step applied the artifact's ready plan (pruning_plan.json)" in result.notes


def test_a_student_pruned_by_a_ready_plan_reproduces(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    _planned_student_reproduces(teacher_dir, german_csv, tmp_path / "planned", 0.5)


def test_a_run_whose_fine_tuning_was_capped_reproduces_with_low_rank_and_gradual_pruning(
        teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """low_rank and gradual_pruning fine-tune, but recorded no training settings: a run capped at
    5 epochs was rerun with the default epochs and found "NOT reproduced" (a recipe fuzz,
    2026-12-07). A low_rank that factorises no layer is refused before it trains."""
    from finlite.recipe.spec import Recipe

    for i, later in enumerate(("{method: low_rank, rank: 2}", "{method: gradual_pruning, sparsity: 0.5, steps: 2}")):
        recipe = Recipe.from_yaml(f"steps:\n  - {{method: distillation, hidden: [16, 8]}}\n  - {later}\n", "r.yaml")
        out = tmp_path / f"capped{i}"
        finlite.compress(teacher_dir, german_csv, recipe=recipe, config=QUICK, fine_tune=QUICK, out=out, timing=False,
                         progress=False)
        steps = json.loads((out / "manifest.json").read_text())["steps"]
        assert steps[1]["fine_tune"]["epochs"] == 5
        result = reproduce(out, german_csv)
        assert result.matched and result.weights_match, [m for m in result.metrics if not m.match][:5]
    whole = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16, 8]}\n  - {method: low_rank, rank: 1000000}\n",
                             "r.yaml")
    with pytest.raises(ConfigError, match=r"low_rank with rank 1000000 factorises no layer of this model.*layers are "
                                          r"16x\d+, 8x16, 1x8\. Use a rank of at most \d+"):
        finlite.compress(teacher_dir, german_csv, recipe=whole, config=QUICK, fine_tune=QUICK, timing=False,
                         progress=False)
    # An artifact's recorded recipe runs as an earlier finlite ran it (reproduce): not refused.
    recorded = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16, 8]}\n  - {method: low_rank, rank: "
                                "1000000}\n", "recipe.yaml", recorded=True)
    outcome = finlite.compress(teacher_dir, german_csv, recipe=recorded, config=QUICK, fine_tune=QUICK, timing=False,
                               progress=False)
    assert [r.status for r in outcome.result.records] == ["kept", "kept"]


def test_runs_that_measure_time_are_not_deterministic() -> None:
    from finlite.jobs.reproduce import _timed

    assert _timed(load_preset("balanced")) == ["step 3 (static_int8) is kept only if faster (both)"]
    gated = Recipe.from_yaml("steps:\n  - {method: distillation}\ngates:\n  latency_p50_us: {max: 500}\n")
    assert _timed(gated) == ["gate on latency_p50_us"]
    assert _timed(load_preset("fastest")) == []


# -- teachers -----------------------------------------------------------------------------------
def test_an_mlp_teacher_reproduces(teacher_dir: Path, german_csv: Path) -> None:
    result = reproduce(teacher_dir, german_csv)
    assert result.job == "train --model mlp" and result.matched
    assert not [n for n in result.notes if "not the recorded file" in n]  # the recorded file: no such note
    assert {"test.auc", "validation_auc"} <= {c.name for c in result.metrics}
    with pytest.raises(ConfigError, match=r"is a teacher.*Drop teacher"):
        reproduce(teacher_dir, german_csv, teacher=teacher_dir)


def test_other_code_and_other_library_versions_are_named_apart() -> None:
    from finlite.jobs.reproduce import version_notes

    recorded = {"finlite_code_sha256": "a" * 64, "numpy": "2.0", "xgboost": "not installed"}
    now = {"finlite_code_sha256": "b" * 64, "numpy": "2.1", "xgboost": "3.0"}
    notes = version_notes(recorded, now)
    assert notes[0].startswith(f"the artifact was made by other finlite code (code sha256 {'a' * 16}…, this "
                               f"finlite's {'b' * 16}…)")
    assert notes[1].startswith("library versions differ from the ones the artifact records: numpy 2.0 → 2.1;")
    assert version_notes({**recorded, "numpy": "2.1"}, {**now, "finlite_code_sha256": "a" * 64}) == []


def test_the_same_rows_in_another_file_are_named(teacher_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    """The recorded rows as Parquet have the CSV's content digest, so they are accepted; a rerun
    from another file (float32 columns train other medians) was left unexplained when it differed
    (an auditor's walk-through, 2026-12-06): a note names both files' sha256."""
    copy = tmp_path / "german.parquet"
    german.to_parquet(copy)
    result = reproduce(teacher_dir, copy)
    recorded = finlite.load(teacher_dir).manifest["data"]["file_sha256"]
    note = next(n for n in result.notes if "holds the recorded rows by value, but is not the recorded file" in n)
    assert f"recorded {recorded}" in note and "reproduce from the recorded file" in note


def test_logistic_and_lightgbm_teachers_reproduce(german_csv: Path, tmp_path: Path) -> None:
    logistic, boosted = tmp_path / "logistic", tmp_path / "lightgbm"
    finlite.train(german_csv, target="creditability", model="logistic", progress=False, out=logistic, flag_rate=0.25)
    # The libraries that compute the evidence are recorded too (a validator's review, 2026-12-04),
    # and a rerun under other versions names them.
    versions = finlite.load(logistic).manifest["versions"]
    assert {"scipy", "scikit-learn", "onnxruntime", "lightgbm"} <= versions.keys()
    older = tmp_path / "older"
    shutil.copytree(logistic, older)
    # Made before precision and recall were recorded (and KS taken in the score's direction): not
    # "NOT reproduced" for metrics it could not hold.
    metrics = finlite.load(logistic).manifest["metrics"]
    test = {k: v for k, v in metrics["test"].items() if k not in ("precision", "recall")}
    # XGBoost recorded as not installed (every manifest before 2026-12-05, where it came as
    # xgboost-cpu): not named, since a library that was not there shaped no recorded number.
    amend_artifact(older, {}, {"versions": {**versions, "scipy": "1.0.0", "pandas": "0.1", "xgboost": "not installed"},
                               "metrics": {**metrics, "test": {**test, "ks": test["ks"] + 0.01}}})
    rerun = reproduce(older, german_csv)
    assert rerun.matched and (f"library versions differ from the ones the artifact records: pandas 0.1 → "
                              f"{versions['pandas']}, scipy 1.0.0 → {versions['scipy']}; a number") in rerun.notes[-1]
    assert "xgboost" not in rerun.notes[-1]
    assert "not compared: test.precision, test.recall, metrics added since the artifact was made" in rerun.notes
    assert any(n.startswith("not compared: test.ks recorded") and "score's direction" in n for n in rerun.notes)
    assert "test.ks" not in {c.name for c in rerun.metrics} and "test.auc" in {c.name for c in rerun.metrics}
    finlite.train(german_csv, target="creditability", model="lightgbm", out=boosted,
                  gbdt_params={"learning_rate": 0.3})
    first = reproduce(logistic, german_csv)
    assert first.job == "train --model logistic" and first.matched
    second = reproduce(boosted, german_csv)
    assert second.job == "train --model lightgbm" and second.matched
    assert set(second.files) == {"weights.safetensors", "oof_logits.safetensors", "preprocessor.json (encoding)"}
    assert "test.train_oof_auc" not in {c.name for c in second.metrics}
    assert "train_oof_auc" in {c.name for c in second.metrics}
    # A logistic teacher made before the maximum-likelihood fit (2026-12-07; its step records its
    # training settings, no "fit") is trained again as it was made, by gradient steps.
    gradient = tmp_path / "gradient"
    finlite.train(german_csv, target="creditability", model="logistic", logistic_fit="gradient", config=FAST,
                  out=gradient)
    step = finlite.load(gradient).manifest["steps"][0]
    assert "fit" not in step and "train" in step and "best_epoch" in step
    again = reproduce(gradient, german_csv)
    assert again.matched and again.weights_match


def test_an_out_of_time_teacher_made_before_the_date_cuts_reproduces(tmp_path: Path) -> None:
    """An older artifact records no whole_dates: it is trained again cut at the shares' rows, as it
    was made, not between dates (a review)."""
    rng = np.random.default_rng(0)
    n = 1200
    book = pd.DataFrame({"income": rng.normal(50, 10, n), "term": rng.integers(6, 60, n).astype(float),
                         "opened": pd.to_datetime(rng.choice(pd.date_range("2017-01-01", periods=10, freq="MS"), n))})
    book["bad"] = (rng.random(n) < 1 / (1 + np.exp((book["income"] - 45) / 5))).astype(int)
    book.to_csv(tmp_path / "book.csv", index=False)
    older = tmp_path / "older"
    finlite.train(tmp_path / "book.csv", target="bad", model="logistic", date_column="opened", progress=False,
                  out=older, whole_dates=False)
    manifest = finlite.load(older).manifest
    config = {k: v for k, v in manifest["data"]["split"]["config"].items() if k != "whole_dates"}
    amend_artifact(older, {}, {"data": {**manifest["data"], "split": {**manifest["data"]["split"], "config": config}}})
    new_rule = finlite.train(tmp_path / "book.csv", target="bad", model="logistic", date_column="opened", progress=False)
    assert new_rule.data.split.sizes() != finlite.load(older).manifest["data"]["split"]["rows"]
    assert reproduce(older, tmp_path / "book.csv").matched


def test_a_stratified_teacher_made_before_the_one_shuffle_reproduces(tmp_path: Path, german_csv: Path) -> None:
    """An older artifact records no one_shuffle: it is trained again on its classes shuffled in
    turn, as it was made, not on the one shuffle that splits alike whichever class is positive."""
    older = tmp_path / "older"
    finlite.train(german_csv, target="creditability", model="logistic", progress=False, out=older, one_shuffle=False)
    manifest = finlite.load(older).manifest
    config = {k: v for k, v in manifest["data"]["split"]["config"].items() if k != "one_shuffle"}
    amend_artifact(older, {}, {"data": {**manifest["data"], "split": {**manifest["data"]["split"], "config": config}}})
    new_rule = finlite.train(german_csv, target="creditability", model="logistic", progress=False)
    assert new_rule.metrics["test"]["auc"] != finlite.load(older).metrics["test"]["auc"]
    assert reproduce(older, german_csv).matched


def test_a_market_forecaster_reproduces(tmp_path: Path) -> None:
    prices = write_prices(tmp_path / "prices.csv")
    teacher = tmp_path / "gru"
    train_forecaster(prices, spec=MarketSpec(window=10, objective="direction"), model="gru", hidden=(8,),
                     config=TrainConfig(epochs=3, progress=False), out=teacher, progress=False)
    result = reproduce(teacher, prices)
    assert result.job == "train --task forecast --model gru" and result.matched
    assert {"test.auc", "test.directional_accuracy"} <= {c.name for c in result.metrics}
    # A direction model no longer reports MASE or MAPE (of a probability against 0/1 outcomes);
    # one made before, which recorded them, still reproduces, with a note.
    metrics = finlite.load(teacher).manifest["metrics"]
    assert not {"mase", "mape", "mape_skipped"} & metrics["test"].keys()
    older = tmp_path / "older"
    shutil.copytree(teacher, older)
    amend_artifact(older, {}, {"metrics": {**metrics, "test": {**metrics["test"], "mase": 0.97, "mape": 0.41,
                                                                "mape_skipped": 60}}})
    rerun = reproduce(older, prices)
    assert rerun.matched and "test.mase" not in {c.name for c in rerun.metrics}
    assert any(n.startswith("not compared: test.mape, test.mape_skipped, test.mase: a direction model no longer")
               for n in rerun.notes)
    other = write_prices(tmp_path / "other.csv", seed=1)
    with pytest.raises(DataError, match=r"content sha256 is [0-9a-f]{64}, the manifest records [0-9a-f]{64}"):
        reproduce(teacher, other)


def test_a_market_student_pruned_by_a_ready_plan_reproduces(tmp_path: Path) -> None:
    # The rerun hands the recorded RegressionDistillation back to the classic market run, which
    # once read a field only soft-target Distillation has (an AttributeError).
    prices = write_prices(tmp_path / "prices.csv")
    teacher = tmp_path / "gru"
    train_forecaster(prices, spec=MarketSpec(window=10, objective="direction"), model="gru", hidden=(8,),
                     config=TrainConfig(epochs=3, progress=False), out=teacher, progress=False)
    _planned_student_reproduces(teacher, prices, tmp_path / "planned", 0.25)
    # Recorded by a finlite that counted a forecaster's layers once (the GRU student's head: 2·6 + 1
    # FLOPs): the same weights, so a newer counting rule, not another model.
    counted = finlite.load(tmp_path / "planned").manifest["metrics"]["test"]["flops_per_row"]
    assert counted > 1000  # every step of the 10-step window
    older = _tampered(tmp_path / "planned", tmp_path / "older", "flops_per_row", 13)
    again = reproduce(older, prices)
    assert again.matched and again.weights_match
    assert [c.reproduced for c in again.metrics if c.name == "test.flops_per_row"] == [counted]
    assert any(n.startswith(f"test.flops_per_row: recorded 13, counted {counted} for the same weights")
               for n in again.notes)


def test_a_return_student_reproduces_its_headline_mase_and_an_older_null_is_not_compared(tmp_path: Path) -> None:
    prices = write_prices(tmp_path / "prices.csv")
    teacher = tmp_path / "gru"
    train_forecaster(prices, spec=MarketSpec(window=10), model="gru", hidden=(4,),
                     config=TrainConfig(epochs=2, progress=False), out=teacher, progress=False)
    finlite.compress(teacher, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, out=tmp_path / "student",
                     timing=False, progress=False)
    result = reproduce(tmp_path / "student", prices)
    mase = [c for c in result.metrics if c.name == "test.mase"]
    assert result.matched and len(mase) == 1 and isinstance(mase[0].recorded, float) and mase[0].match
    # Made before the headline had a MASE (it recorded null): not compared, with a note, not "NOT reproduced".
    older = _tampered(tmp_path / "student", tmp_path / "older", "mase", None)
    again = reproduce(older, prices)
    assert again.matched and "test.mase" not in {c.name for c in again.metrics}
    assert any(n.startswith("not compared: test.mase: the artifact recorded no headline MASE") for n in again.notes)
    # A recorded number that differs is still a mismatch.
    assert not reproduce(_tampered(tmp_path / "student", tmp_path / "forged", "mase", 0.5), prices).matched


def test_a_volatility_forecasters_evidence_is_compared_and_an_edited_var_zone_is_not_reproduced(
        tmp_path: Path) -> None:
    """Only metrics.test was compared: a 99 % VaR zone edited from red to green in the manifest's
    evidence (and re-hashed) was "reproduced" (note 76). The rest of the manifest's metrics are
    now compared with the rerun's, each value, judged where the same code made both."""
    prices = write_prices(tmp_path / "prices.csv")
    teacher = tmp_path / "gru"
    train_forecaster(prices, spec=MarketSpec(window=10, objective="volatility"), model="gru", hidden=(4,),
                     config=TrainConfig(epochs=2, progress=False), out=teacher, progress=False)
    result = reproduce(teacher, prices)
    rest = result.recorded_metrics
    assert result.matched and rest is not None and rest["judged"] and rest["match"] and rest["compared"] > 100, rest
    text = render_reproduction(result)
    assert (f"the manifest's other metrics (evidence, fidelity, gates, operating point): {rest['compared']:,} values "
            "compared, 0 differ") in text
    assert result.to_dict()["recorded_metrics"]["compared"] == rest["compared"]
    metrics = finlite.load(teacher).manifest["metrics"]
    var = metrics["forecast"]["models"]["teacher"]["value_at_risk"]["var_99"]
    forged = {**var, "zone": "green" if var["zone"] != "green" else "red"}
    evidence = json.loads(json.dumps(metrics["forecast"]))
    evidence["models"]["teacher"]["value_at_risk"]["var_99"] = forged
    edited = tmp_path / "edited"
    shutil.copytree(teacher, edited)
    amend_artifact(edited, {}, {"metrics": {**metrics, "forecast": evidence}})
    caught = reproduce(edited, prices)
    assert caught.metrics_match and caught.weights_match and not caught.matched
    assert caught.recorded_metrics is not None and caught.recorded_metrics["different"] == 1
    assert caught.recorded_metrics["differences"] == [
        f"forecast.models.teacher.value_at_risk.var_99.zone: recorded {forged['zone']}, reproduced {var['zone']}"]
    assert render_reproduction(caught).endswith(
        "NOT reproduced: the test metrics match but the manifest's other metrics differ from the rerun's (see above)")
    # A value deleted from the record differs too (the same code writes the same keys).
    del evidence["models"]["teacher"]["value_at_risk"]["var_99"]
    shutil.rmtree(edited)
    shutil.copytree(teacher, edited)
    amend_artifact(edited, {}, {"metrics": {**metrics, "forecast": evidence}})
    dropped = reproduce(edited, prices).recorded_metrics
    assert dropped is not None and not dropped["match"] and dropped["different"] > 5
    assert any(d.startswith("forecast.models.teacher.value_at_risk.var_99.") and "recorded (absent)" in d
               for d in dropped["differences"])


def test_the_rest_of_a_manifests_metrics_leaves_out_timings_and_warnings_and_is_listed_for_other_code() -> None:
    from finlite.jobs.reproduce import compare_recorded_metrics

    recorded = {"test": {"auc": 0.7}, "validation_auc": 0.71,
                "gates": [{"metric": "latency_p50_us", "value": 8.0, "passed": True},
                          {"metric": "auc_drop", "value": 0.01, "passed": True}],
                "gates_passed": True, "forecast": {"warnings": ["the teacher's 0.9"], "rmse": 0.02}}
    rerun = {"test": {"auc": 0.1}, "validation_auc": 0.2,
             "gates": [{"metric": "latency_p50_us", "value": 80.0, "passed": False},
                       {"metric": "auc_drop", "value": 0.01, "passed": True}],
             "gates_passed": True, "forecast": {"warnings": ["the teacher's 0.91"], "rmse": 0.02}}
    same = compare_recorded_metrics(recorded, rerun, judged=True)
    assert same is not None and same["match"] and same["compared"] == 5, same  # 3 of the gate, passed, rmse
    other = compare_recorded_metrics(recorded, {**rerun, "forecast": {"rmse": 0.03}}, judged=False)
    assert other is not None and not other["match"] and not other["judged"]
    assert other["differences"] == ["forecast.rmse: recorded 0.02, reproduced 0.03"]
    assert compare_recorded_metrics({"test": {}}, {"test": {"auc": 1.0}}, judged=True) is None


def test_an_imported_booster_cannot_be_trained_again(german: pd.DataFrame, tmp_path: Path) -> None:
    import lightgbm as lgb

    frame = german.copy()
    y = (frame.pop("creditability") == "bad").astype(int)
    numeric = frame.select_dtypes("number")
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4, "seed": 0},
                        lgb.Dataset(numeric, label=y.to_numpy()), num_boost_round=5)
    model_file = tmp_path / "model.txt"
    booster.save_model(str(model_file))
    table = numeric.assign(creditability=np.where(y == 1, "bad", "good"))
    data = tmp_path / "table.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "imported"
    finlite.import_teacher(model_file, data, target="creditability", positive="bad", folds=2, out=out)
    with pytest.raises(ConfigError, match=r"wraps a booster trained outside finlite \('model.txt', sha256 [0-9a-f]{64}\)"):
        reproduce(out, data)


def test_a_rerun_whose_steps_all_fail_their_gates_is_not_reproduced(student_dir: Path, german_csv: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.jobs.compress as compress_job

    def nothing_kept(*args: Any, **kwargs: Any) -> Any:
        return SimpleNamespace(path=None)  # what compress returns when no step passed its gates

    monkeypatch.setattr(compress_job, "compress_with_recipe", nothing_kept)
    result = reproduce(student_dir, german_csv)
    assert not result.matched and not result.metrics_match and not result.weights_match
    assert any("made no student" in note for note in result.notes)


@pytest.mark.parametrize(("name", "timing"), [
    ("latency_us_p50", True), ("distill.rows_per_second_16384", True), ("cost.batch", True),
    ("timed", True), ("auc", False), ("distill.batch_size", False), ("agreement_latency", False),
])
def test_one_rule_says_which_metrics_are_timings(name: str, timing: bool) -> None:
    # The reproduction skips them and the search drops them from a chosen candidate's records.
    assert is_timing(name) is timing


def test_a_run_whose_overlap_gate_judged_a_handful_of_alerts_is_not_reproduced(teacher_dir: Path, german_csv: Path,
                                                                               tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Made before an alert_overlap gate needed 20 of the teacher's validation alerts: the rerun is
    refused by the rule, so it is not reproduced (exit 1), saying why, without advice to change a
    gate the reproducer cannot change (the review of 2026-12-03 saw exit 2)."""
    import finlite.evaluate.operating as operating

    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\n"
                              "gates:\n  alert_overlap: {min: 0.1}\n")
    with monkeypatch.context() as old:  # the older finlite, which judged any number of alerts
        old.setattr(operating, "MIN_ALERTS", 0)
        finlite.compress(teacher_dir, german_csv, recipe=recipe, config=FAST, fine_tune=FAST, timing=False,
                         out=tmp_path / "few", progress=False, flag_rate=0.02)
    result = reproduce(tmp_path / "few", german_csv, teacher=teacher_dir)
    assert not result.matched
    (note,) = [n for n in result.notes if n.startswith("this finlite refuses the recorded run's gate: ")]
    assert "'alert_overlap' (on the validation split) needs at least 20 of the teacher's alerts" in note
    assert "cannot be rerun as recorded" in note and "--flag-rate" not in note and "remove the gate" not in note
    # The verdict points at the note, not at metric rows that were never compared.
    text = render_reproduction(result)
    assert text.endswith("NOT reproduced: the rerun made nothing to compare; see the notes above")
    # Each metric row says it was not rerun (every row read "NO", as if compared and different).
    rows = [line for line in text.splitlines() if line.startswith(tuple(f"{m.name} " for m in result.metrics))]
    assert rows and all(line.endswith("not rerun") for line in rows) and " NO" not in text
    assert result.to_dict()["rerun"] is False


def test_a_student_pruned_to_no_path_by_an_older_finlite_is_not_reproduced(teacher_dir: Path, german_csv: Path,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An artifact pruned so far that no input reached its output (made before such plans were
    refused) exited 2 with advice the reproducer cannot take ("prune less"); it is not reproduced
    (exit 1), saying why (a review, 2026-12-03)."""
    from finlite.methods.plan import PruningPlan

    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16, 16]}\n"
                              "  - {method: magnitude_pruning, sparsity: 0.999}\n")
    with monkeypatch.context() as old:  # the older finlite, which made such plans
        old.setattr(PruningPlan, "check_usable", lambda self, where="": None)
        finlite.compress(teacher_dir, german_csv, recipe=recipe, config=FAST, fine_tune=FAST, timing=False,
                         out=tmp_path / "cut", progress=False)
    result = reproduce(tmp_path / "cut", german_csv, teacher=teacher_dir)
    assert not result.matched
    assert any(n.startswith("this finlite refuses the recorded run's pruning: Recipe step 2 (magnitude_pruning): ")
               and "leaves no path from the inputs to the output" in n for n in result.notes), result.notes
    # Made with a ready plan (compress --plan), the rerun applies that plan: refused alike (it exited 2).
    from finlite.methods import MagnitudePruning

    with monkeypatch.context() as old:
        old.setattr(PruningPlan, "check_usable", lambda self, where="": None)
        plan = finlite.compress(teacher_dir, german_csv, student_hidden=(16, 16), config=FAST, fine_tune=FAST,
                                pruning=MagnitudePruning(sparsity=0.999), plan_only=True, progress=False).plan
        finlite.compress(teacher_dir, german_csv, student_hidden=(16, 16), config=FAST, fine_tune=FAST, plan=plan,
                         timing=False, out=tmp_path / "ready", progress=False)
    ready = reproduce(tmp_path / "ready", german_csv, teacher=teacher_dir)
    assert not ready.matched and any("refuses the recorded run's pruning" in n and "leaves no path" in n
                                     for n in ready.notes), ready.notes


@pytest.mark.slow
def test_an_int8_student_written_in_the_older_weights_format_still_reproduces(teacher_dir: Path, german_csv: Path,
                                                                              tmp_path: Path) -> None:
    """Weights format 2 stores a pruned int8 model's weights sparsely: rerun in that form, an artifact
    written before (its manifest has no weights_format) would differ in every file hash and size."""
    from finlite.jobs.compress import compress_with_recipe
    from finlite.models.serialize import save_weights, weights_format

    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16]}\n"
                              "  - {method: magnitude_pruning, sparsity: 0.8}\n  - {method: static_int8}\n"
                              "gates:\n  auc: {max_drop: 0.5}\n")
    with weights_format(1):
        old = compress_with_recipe(teacher_dir, german_csv, recipe, config=QUICK, fine_tune=QUICK, timing=False,
                                   progress=False, out=tmp_path / "old")
    assert [r.status for r in old.result.records] == ["kept", "kept", "kept"]
    manifest = finlite.load(tmp_path / "old").manifest
    assert "weights_format" not in manifest and not manifest["sparse_tensors"]
    # The same model in today's form is smaller: the test would pass for nothing otherwise.
    assert save_weights(old.model, tmp_path / "now.safetensors")
    assert (tmp_path / "now.safetensors").stat().st_size < (tmp_path / "old" / "weights.safetensors").stat().st_size
    result = reproduce(tmp_path / "old", german_csv)
    assert result.matched and result.weights_match and result.metrics_match
    # evaluate reports the file's own size, not the size this finlite would write (a review).
    from finlite.jobs.evaluate import evaluate_artifact

    on_disk = (tmp_path / "old" / "weights.safetensors").stat().st_size
    assert evaluate_artifact(tmp_path / "old", german_csv, timing=False)["model"]["model_bytes"] == on_disk
    assert manifest["metrics"]["test"]["model_bytes"] == on_disk
    # A new artifact records its format, and reproduces in it.
    compress_with_recipe(teacher_dir, german_csv, recipe, config=QUICK, fine_tune=QUICK, timing=False,
                         progress=False, out=tmp_path / "new")
    manifest = finlite.load(tmp_path / "new").manifest
    assert manifest["weights_format"] == 2 and manifest["sparse_tensors"]
    assert reproduce(tmp_path / "new", german_csv).matched


def test_a_step_the_decision_check_now_rolls_back_is_named_in_the_notes() -> None:
    """An artifact whose student flagged no row beside an agreement gate (kept before 2026-12-03) is
    not made again, and reproduce said "NOT reproduced" with no word of why (a review)."""
    from finlite.jobs.reproduce import _new_rule_notes

    failed = {"metric": "flagged_rate", "kind": "decides", "passed": False,
              "message": "flagged_rate 0 where the teacher flags 0.24: the candidate flags no row at the cut-off"}
    recorded = [{"method": "distillation", "status": "kept", "gates": []},
                {"method": "magnitude_pruning", "status": "kept", "gates": []}]
    rerun = [{"method": "distillation", "status": "rolled_back", "gates": [failed]},
             {"method": "magnitude_pruning", "status": "kept", "gates": []}]
    (note,) = _new_rule_notes(recorded, rerun)
    assert note.startswith("step 1 (distillation) was kept by the recorded run and rolled back by this one: "
                           "flagged_rate 0 where the teacher flags 0.24")
    assert _new_rule_notes(recorded, recorded) == []
    other = [{**rerun[0], "gates": [{**failed, "kind": "min", "metric": "auc"}]}, rerun[1]]
    assert _new_rule_notes(recorded, other) == []  # a gate that failed for another reason: no such note


def test_the_verdict_names_the_weights_where_only_they_differ() -> None:
    """A deterministic rerun with every metric equal and other weights pointed at "the rows marked
    NO", of which there were none (the diff's review, 2026-12-04)."""
    from finlite.jobs.reproduce import MetricCheck, Reproduction, render_reproduction

    def result(metric_match: bool, weights_match: bool) -> Reproduction:
        return Reproduction(artifact=Path("a"), job="compress", seed=0, data_sha256="d",
                            metrics=[MetricCheck("auc", 0.75, 0.75 if metric_match else 0.74, metric_match)],
                            skipped=[], files={"model.safetensors": {"recorded": "x", "reproduced": "x" if
                                                                     weights_match else "y",
                                                                     "match": weights_match}},
                            deterministic=True)

    assert render_reproduction(result(True, False)).endswith(
        "NOT reproduced: the metrics match but the weights differ (weights match: no)")
    assert render_reproduction(result(False, True)).endswith("NOT reproduced: see the rows marked NO above")
    assert render_reproduction(result(True, True)).endswith("reproduced: the same metrics and weights")
    # Nothing compared is no match (a manifest edited to hold no test metrics; a review, 2026-12-04 evening).
    empty = Reproduction(artifact=Path("a"), job="compress", seed=0, data_sha256="d", metrics=[], skipped=[],
                         files={}, deterministic=False)
    assert not empty.metrics_match and not empty.matched


def test_a_domain_read_from_the_file_name_is_kept_when_reproduced_from_another_name(
        teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """Compressed from a file named like fraud (its domain read from the name), reproduced from the
    same rows under another name: the rerun took "credit" and its evidence differed (a review,
    2026-12-06). The recorded domain is passed to the rerun."""
    import json

    named = tmp_path / "transactions.csv"
    shutil.copyfile(german_csv, named)
    out = tmp_path / "student"
    finlite.compress(teacher_dir, named, student_hidden=(8,), config=QUICK, fine_tune=QUICK, out=out, timing=False,
                     progress=False)
    assert json.loads((out / "report.json").read_text())["domain"] == "fraud"
    result = reproduce(out, german_csv)
    assert result.matched and result.evidence is not None and result.evidence["judged"], result.evidence


def test_the_code_digest_covers_the_presets_and_the_report_template() -> None:
    """A changed preset recipe or report template changed the evidence and not the digest (note
    70's leftover): .yaml and .j2 files are hashed with the source, by path and content."""
    import hashlib

    import finlite._version as version

    root = Path(version.__file__).resolve().parent
    files = sorted({p for pattern in ("*.py", "*.yaml", "*.j2") for p in root.rglob(pattern)
                    if "__pycache__" not in p.parts})
    assert any(p.suffix == ".yaml" for p in files) and any(p.suffix == ".j2" for p in files)
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    assert version.code_sha256() == digest.hexdigest()


def test_report_md_may_differ_in_the_status_line_only_as_the_timed_cost_section_moves_it() -> None:
    """A student timed slower on a loaded machine makes the cost section WARN and the rerun's status
    line name it: a fresh clone's run said "not reproduced" (2026-12-06). The recorded line must
    still be the one its report.json renders; an edited one is caught."""
    from finlite.jobs.reproduce import _timing_only

    line = "Validation report status: WARN (the worst of 11 sections; not PASS: Stability WARN). report.html …"
    slower = line.replace("Stability WARN", "Stability WARN, Cost: size and speed WARN")
    recorded = f"# report\n{line}\n| latency p50 (batch 1, encoded row) | 7 µs | 5 µs |\n| AUC | 0.8 | 0.79 |\n"
    rerun = recorded.replace(line, slower).replace("| 7 µs | 5 µs |", "| 9 µs | 12 µs |")
    assert _timing_only(recorded, rerun, line)
    edited = recorded.replace("WARN (the worst", "PASS (the worst")
    assert not _timing_only(edited, rerun, line)  # the recorded line is not what its report.json says
    assert not _timing_only(recorded, rerun.replace("| 0.79 |", "| 0.78 |"), line)  # a number, not a timing
    assert not _timing_only(recorded, rerun, None)  # without the rendered line, no status change passes
    deleted = recorded.replace(line + "\n", "")  # the recorded line removed: the rerun's alone is no pair
    assert not _timing_only(deleted, rerun, line)


def test_the_overall_status_is_compared_without_the_timed_cost_sections_part() -> None:
    """The cost section's status is timed, and could move report.json's overall status on a loaded
    machine: the evidence compares the status the other sections set (and each section's own)."""
    from finlite.jobs.reproduce import _evidence

    def report(cost: str, overall: str, stability: str = "PASS") -> dict:
        return {"status": overall, "sections": [{"id": "stability", "status": stability, "metrics": {"psi": 0.01}},
                                                {"id": "cost", "status": cost, "metrics": {"size_ratio": 0.1}}]}

    assert _evidence(report("PASS", "PASS")) == _evidence(report("WARN", "WARN"))
    assert _evidence(report("PASS", "PASS")) != _evidence(report("PASS", "WARN", stability="WARN"))
    assert _evidence(report("WARN", "WARN"))["status"] == "PASS"
    # An overall status edited against its own sections (WARN made PASS over a WARN section), re-hashed
    # and re-rendered, differs from the honest one: it is not what its sections set.
    honest, edited = report("PASS", "WARN", stability="WARN"), report("PASS", "PASS", stability="WARN")
    assert _evidence(honest) != _evidence(edited) and _evidence(edited)["status_of_its_sections"] is False


def test_a_verdict_on_an_artifact_of_other_code_says_so(student_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """After an upgrade every older artifact was "NOT reproduced" with the cause in a note at best
    (none where it records no code digest): the verdict says the artifact was made by other code."""
    import json

    copy = tmp_path / "older"
    shutil.copytree(student_dir, copy)
    report = json.loads((copy / "report.json").read_text())
    report["student"]["auc"] += 0.1  # something for the verdict to find
    manifest = json.loads((copy / "manifest.json").read_text())
    versions = {k: v for k, v in manifest["versions"].items() if k != "finlite_code_sha256"}  # an older finlite's
    amend_artifact(copy, {"report.json": json.dumps(report).encode()}, {"versions": versions})
    result = reproduce(copy, german_csv)
    assert not result.matched and result.other_code
    assert render_reproduction(result).endswith(
        "; the artifact was made by other finlite code (its code sha256 differs, or it records none): a rule changed "
        "since may explain it, so rerun it with the finlite that made it before taking it for altered")


def test_an_older_volatility_forecasters_new_metrics_are_left_out_even_when_null() -> None:
    """QLIKE is None where a forecast is 0 (the naive |r| after a still day): an older artifact,
    which records no QLIKE, was "NOT reproduced" on it (a review, 2026-12-07)."""
    from finlite.jobs.reproduce import MetricCheck, _added_volatility_metrics

    checks = [MetricCheck("test.naive.qlike", None, None, False), MetricCheck("test.qlike", None, 0.71, False),
              MetricCheck("test.rmse", 0.01, 0.02, False)]
    kept, notes = _added_volatility_metrics(checks)
    assert [c.name for c in kept] == ["test.rmse"] and len(notes) == 1 and "no QLIKE or variance ratio" in notes[0]

