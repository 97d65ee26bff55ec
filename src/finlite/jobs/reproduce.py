"""The reproduce job: run an artifact's recorded recipe again and say whether it gives the same model.

A validator accepts a compressed model more easily when the run that made it can be repeated.
:func:`reproduce` reads what an artifact records (its seed, the content hash of its data, the
recipe, every step's training settings, the teacher it started from), runs the same job again
into a temporary folder (removed afterwards) and compares: every quality metric the manifest
records for the test split, exactly or within :data:`REL_TOL` relative, the manifest's other
metrics (a forecaster's evidence, a student's fidelity, ratios and gates, a teacher's operating
point: :func:`compare_recorded_metrics`, judged where the same code made both), and the sha256
of the weights. Timing measurements (latency, rows per second) are measurements, not results: they are
skipped and named. A run whose gates or steps measure time (a latency gate, an int8 step that
must be faster) may keep or roll back a step differently on another machine or under other
load: it is marked not deterministic; its metrics are compared anyway and its weights are shown
but do not decide.

Students are re-run with :func:`finlite.jobs.compress.compress_with_recipe` from their teacher
(found from the recorded path and checked against the recorded manifest sha256); teachers with
:func:`finlite.jobs.train.train` (MLP, logistic, LightGBM, XGBoost) or
:func:`finlite.jobs.forecast.train_forecaster` (market forecasters) with the settings their
manifest records. A booster imported from a file (``finlite import-teacher``) was not trained
by finlite and cannot be re-run.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from finlite._util import check_flags
from finlite.artifact import Artifact, DataLike, load, recorded_split, recorded_walk
from finlite.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    TooFewAlertsError,
    UnjudgedGateError,
    UnusablePlanError,
)
from finlite.models.serialize import weights_format
from finlite.recipe.spec import Recipe
from finlite.training import unseen
from finlite.training.loop import TrainConfig, keeps_random_state

__all__ = ["REL_TOL", "TIMING_DETAILS", "TIMING_KEYS", "MetricCheck", "Reproduction", "compare_metrics", "flatten_metrics", "is_timing",
           "render_reproduction", "reproduce"]

#: Largest relative difference between a recorded and a reproduced metric that still matches
#: (float printing and summation order aside, a deterministic run gives the same bits).
REL_TOL = 1e-9
#: The name of the check of the manifest's cut-off (the one score and serve decide at).
DECISION_CUTOFF = "cutoff (the decision rule of score and serve)"
#: Prefixes of metric names that are timing measurements, skipped by the comparison.
TIMING_KEYS = ("latency", "rows_per_second")
#: Names that describe a timing measurement (the batch size of rows_per_second, the runtime timed),
#: present only in a run that measured time: skipped too.
TIMING_DETAILS = ("batch", "timed")
#: The files that hold a model's numbers, compared by sha256 when both runs have them.
MODEL_FILES = ("weights.safetensors", "oof_logits.safetensors")
#: The preprocessing, compared by what it encodes (its schema's notes, which say how the columns
#: were found, left out): an edited imputation median or category map is another model, and the
#: rerun said "reproduced" of one (an MLOps walk-through, 2026-12-06).
PREPROCESSOR = "preprocessor.json"


@dataclass(frozen=True)
class MetricCheck:
    """One metric: its recorded and reproduced values and whether they match."""

    name: str
    recorded: Any
    reproduced: Any
    match: bool

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.name, "recorded": self.recorded, "reproduced": self.reproduced, "match": self.match}


@dataclass
class Reproduction:
    """The outcome of :func:`reproduce`.

    ``matched`` is True when every compared metric matches and, for a deterministic run, every
    model file has the recorded sha256.
    """

    artifact: Path
    job: str
    seed: int
    data_sha256: str
    metrics: list[MetricCheck]
    skipped: list[str]
    files: dict[str, dict[str, Any]]
    deterministic: bool
    notes: list[str] = field(default_factory=list)
    #: report.json's evidence against the rerun's (:func:`compare_evidence`); None when there was
    #: nothing to compare (a teacher, a rerun that made no student, an artifact without a report).
    evidence: dict[str, Any] | None = None
    #: The report's other documents (report.html, MODEL_CARD.md, report.md, flips.csv) against what
    #: they must be (:func:`compare_documents`).
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The artifact records another finlite code digest than this finlite's, or none (made before
    #: digests were recorded): a mismatch may be a rule changed since, which the verdict says.
    other_code: bool = False
    #: The manifest's other metrics (a forecaster's evidence and VaR backtest, a student's fidelity,
    #: ratios and gates, the operating point) against the rerun's (:func:`compare_recorded_metrics`);
    #: None when neither records any.
    recorded_metrics: dict[str, Any] | None = None

    @property
    def documents_match(self) -> bool:
        """No judged document differs from what report.json renders or the rerun wrote."""
        return all(d.get("match") is not False for d in self.documents.values())

    @property
    def evidence_match(self) -> bool:
        """report.json's numbers and statuses are the rerun's, or they were not judged (another
        finlite made them, or there was none to compare)."""
        return self.evidence is None or not self.evidence.get("judged") or bool(self.evidence.get("match"))

    @property
    def recorded_metrics_match(self) -> bool:
        """The manifest's other metrics are the rerun's, or they were not judged (other code made
        them, the run measures time, or there were none)."""
        ev = self.recorded_metrics
        return ev is None or not ev.get("judged") or bool(ev.get("match"))

    @property
    def metrics_match(self) -> bool:
        """Every compared metric matches, and there is at least one: nothing compared is no match
        (an edited manifest with no test metrics would have "reproduced" whatever the rerun made)."""
        return bool(self.metrics) and all(m.match for m in self.metrics)

    @property
    def weights_match(self) -> bool:
        """Every model file the artifact records has the same sha256 in the reproduced run."""
        return all(f["match"] for f in self.files.values())

    @property
    def rerun(self) -> bool:
        """Whether the rerun gave anything to compare (False: it was refused or made no student;
        the notes say why, and no metric row is a mismatch)."""
        return any(m.reproduced is not None for m in self.metrics)

    @property
    def matched(self) -> bool:
        """The verdict: metrics match, (where the run is deterministic) so do the weights, and
        report.json's evidence, its documents and the manifest's other metrics are the rerun's
        where they are judged."""
        return (self.metrics_match and (self.weights_match or not self.deterministic) and self.evidence_match
                and self.documents_match and self.recorded_metrics_match)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``finlite reproduce --json`` prints)."""
        return {"artifact": str(self.artifact), "job": self.job, "seed": self.seed, "data_sha256": self.data_sha256,
                "deterministic": self.deterministic, "rerun": self.rerun, "matched": self.matched,
                "metrics_match": self.metrics_match,
                "weights_match": self.weights_match, "metrics": [m.to_dict() for m in self.metrics],
                "skipped": list(self.skipped), "files": {k: dict(v) for k, v in self.files.items()},
                "evidence": None if self.evidence is None else dict(self.evidence),
                "recorded_metrics": None if self.recorded_metrics is None else dict(self.recorded_metrics),
                "documents": {k: dict(v) for k, v in self.documents.items()}, "notes": list(self.notes)}


# -- comparing ------------------------------------------------------------------------------------
def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metrics as one level: ``{"a": {"b": 1}, "c": [2]}`` becomes ``{"a.b": 1, "c[0]": 2}``."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, name + "."))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update(flatten_metrics(item, f"{name}[{i}]."))
                else:
                    out[f"{name}[{i}]"] = item
        else:
            out[name] = value
    return out


def is_timing(name: str) -> bool:
    """Whether a metric (a flattened name such as ``step.latency_us``, or a leaf) is a timing
    measurement, which no comparison of two runs expects to repeat."""
    leaf = name.rsplit(".", 1)[-1]
    return leaf.startswith(TIMING_KEYS) or leaf in TIMING_DETAILS


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    """Equal, or numbers within ``rel_tol`` relative (a JSON null stands for a non-finite number)."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=0.0)
    return bool(a == b)


def compare_metrics(recorded: Mapping[str, Any], reproduced: Mapping[str, Any], *,
                    rel_tol: float = REL_TOL) -> tuple[list[MetricCheck], list[str]]:
    """Compare two (possibly nested) metric dicts key by key.

    Returns the checks, in the recorded order (metrics only one side has come last, unmatched),
    and the names skipped as timing measurements (:data:`TIMING_KEYS`, :data:`TIMING_DETAILS`).
    """
    if not (isinstance(rel_tol, (int, float)) and 0 <= rel_tol < 1):
        raise ConfigError(f"rel_tol must be a number from 0 to under 1; got {rel_tol!r}.", param="rel_tol")
    old, new = flatten_metrics(recorded), flatten_metrics(reproduced)
    checks: list[MetricCheck] = []
    skipped: list[str] = []
    for name in [*old, *(k for k in new if k not in old)]:
        if is_timing(name):
            skipped.append(name)
            continue
        if name not in old or name not in new:
            checks.append(MetricCheck(name, old.get(name), new.get(name), False))
            continue
        checks.append(MetricCheck(name, old[name], new[name], _same(old[name], new[name], rel_tol)))
    return checks, skipped


# -- the data and the teacher ---------------------------------------------------------------------
def _check_data(art: Artifact, data: DataLike) -> tuple[str, Any]:
    """The content sha256 of ``data``, refused unless it is the one the artifact records, and the
    table read for it (None for a forecaster's price file): the served-model check reads it again
    otherwise, and hashes it again (seconds on a bank-size book)."""
    recorded = str((art.manifest.get("data") or {}).get("content_sha256", ""))
    market = art.market
    table = None
    if market is not None:
        from finlite.data.market import read_prices

        found = read_prices(data, market.spec).content_sha256
    else:
        from finlite.data.io import Table, frame_sha256, read_table

        table = data if isinstance(data, Table) else read_table(data)
        found = frame_sha256(table.frame)
    if found != recorded:
        source = data if isinstance(data, (str, Path)) else "the data given"
        raise DataError(
            f"{source} is not the data {art.path} was made from: its content sha256 is {found}, the manifest "
            f"records {recorded} (from {(art.manifest.get('data') or {}).get('source')!r}). A run can be reproduced "
            "only from the same rows; pass the recorded table.")
    return found, table


def _other_file_note(art: Artifact, table: Any) -> str | None:
    """A note when the data holds the recorded rows by content but is another file than the one
    recorded: the same rows as a float32 Parquet and a float64 CSV have one content digest (the
    values as text) yet train other medians and weights, and the rerun's mismatch was left
    unexplained (an auditor's walk-through, 2026-12-06)."""
    recorded = (art.manifest.get("data") or {}).get("file_sha256")
    given = getattr(table, "file_sha256", None)
    if not recorded or not given or recorded == given:
        return None
    return (f"{table.source} holds the recorded rows by value, but is not the recorded file (file sha256 {given}, "
            f"recorded {recorded} for {(art.manifest.get('data') or {}).get('source')!r}): another compression is "
            "harmless, but another format or other column types (a float32 Parquet of a float64 CSV) read the same "
            "values at another precision, which can train other numbers; where the rerun differs, reproduce from "
            "the recorded file")


def teacher_candidates(art: Artifact, recorded_path: str, given: str | Path | None) -> list[Path]:
    """Where the recorded teacher may be: ``given``, else the recorded path (as written, then
    beside the student, then its folder name beside the student)."""
    if given is not None:
        return [Path(given)]
    path = Path(recorded_path)
    out = [path]
    if not path.is_absolute():
        out.append(art.path.parent / path)
    out.append(art.path.parent / path.name)
    unique: list[Path] = []
    for p in out:
        if p not in unique:
            unique.append(p)
    return unique


#: The most characters of a recorded path a message repeats (a forged manifest held 100,000).
_SHOWN_PATH = 200


def _clipped(path: Any) -> str:
    """A recorded path as a message shows it: at most :data:`_SHOWN_PATH` characters."""
    text = str(path)
    return text if len(text) <= _SHOWN_PATH else f"{text[:_SHOWN_PATH]}… ({len(text):,} characters)"


def look_for_teacher(art: Artifact, provenance: Mapping[str, Any], given: str | Path | None,
                     verify_key: Any = None) -> tuple[Artifact | None, list[str]]:
    """The teacher a student records, among :func:`teacher_candidates`: the first that loads (with
    ``verify_key``) and is that teacher by its manifest sha256 or, when it was exported or signed
    since, by its model files (:func:`~finlite.jobs.compress.is_recorded_teacher`). Returns it (or
    None) and what was found at each candidate, for the caller's message."""
    from finlite.jobs.compress import is_recorded_teacher

    seen: list[str] = []
    for candidate in teacher_candidates(art, str(provenance.get("path", "")), given):
        try:
            present = candidate.exists()
        except (OSError, RuntimeError) as exc:  # a recorded path too long, or a link loop: no teacher there
            seen.append(f"{_clipped(candidate)}: cannot be looked up ({getattr(exc, 'strerror', None) or exc})")
            continue
        if not present:
            seen.append(f"{_clipped(candidate)}: missing")
            continue
        try:
            teacher = load(candidate, verify_key=verify_key)
        except ArtifactError as exc:
            seen.append(f"{candidate}: not a usable artifact ({exc})")
            continue
        if is_recorded_teacher(teacher.manifest, provenance):  # an export or signature since is fine
            return teacher, seen
        seen.append(f"{candidate}: manifest sha256 {teacher.manifest.get('manifest_sha256')}, not the recorded one, "
                    "and other model files (the teacher was changed)")
    return None, seen


def _find_teacher(art: Artifact, provenance: Mapping[str, Any], given: str | Path | None,
                  verify_key: Any = None) -> Artifact:
    """The teacher artifact the student records (:func:`look_for_teacher`).

    Raises:
        ConfigError: no candidate exists or none is the recorded teacher (the message names the
            recorded path and sha256, and what was found).
    """
    teacher, seen = look_for_teacher(art, provenance, given, verify_key)
    if teacher is not None:
        return teacher
    signed = [entry for entry in seen if "trusted key" in entry]
    if verify_key is not None and signed:
        # Found, but refused by the key: "missing or changed" sent the validator looking for a
        # teacher that was there (note 69's leftover).
        raise ConfigError(
            f"The teacher that {art.path} was compressed from is there but not signed by the trusted key: "
            f"{'; '.join(signed)}. A student is reproduced from its teacher, so with --verify-key the teacher must "
            "be signed with the same key too (finlite sign TEACHER --key PRIVATE.pem), or reproduce without the key.",
            param="verify_key")
    raise ConfigError(
        f"The teacher that {art.path} was compressed from (recorded path {_clipped(provenance.get('path', ''))!r}, manifest "
        f"sha256 {provenance.get('manifest_sha256', '')}) is missing or changed: {'; '.join(seen)}. Pass that teacher "
        "artifact as teacher=PATH.", param="teacher")


# -- re-running -----------------------------------------------------------------------------------
def _config(recorded: Mapping[str, Any], progress: bool) -> TrainConfig:
    """A recorded ``TrainConfig.to_dict()`` read back (its unknown keys refused)."""
    known = {f.name for f in fields(TrainConfig)}
    extra = sorted(set(recorded) - known)
    if extra:
        raise ArtifactError(f"The recorded training settings hold {extra}, which this finlite's TrainConfig does not "
                            "know; reproduce the artifact with the finlite version that made it.")
    try:
        return TrainConfig(**{**dict(recorded), "progress": progress})
    except ConfigError as exc:  # the manifest's record, not a setting the caller gave
        raise ArtifactError(f"The training settings recorded in manifest.json (its 'steps', setting "
                            f"{exc.param or '?'!r}) cannot be used: {exc} The manifest was edited; re-create the "
                            "artifact instead.") from None


def _base_config(steps: Sequence[Mapping[str, Any]], recipe: Recipe, key: str,
                 progress: bool) -> TrainConfig | None:
    """The run's base ``train`` or ``fine_tune`` settings from the steps that recorded them.

    Each step recorded the settings it used: the base with its own ``train:`` overrides. A field
    is taken from a step that does not override it; a field every such step overrides was never
    used as the base, so any recorded value does.
    """
    used = [(i, s[key]) for i, s in enumerate(steps) if isinstance(s.get(key), Mapping)]
    if not used:
        return None  # no step trained with these settings: the defaults are as good as the originals
    merged: dict[str, Any] = dict(used[0][1])
    for name in merged:
        for i, settings in used:
            overrides = recipe.steps[i].train if i < len(recipe.steps) else {}
            if name not in overrides and name in settings:
                merged[name] = settings[name]
                break
    return _config(merged, progress)


def _operating_options(point: Mapping[str, Any] | None) -> tuple[float | None, float | None]:
    """(cutoff, flag_rate) that set a recorded operating point again (neither for the training bad rate)."""
    if not isinstance(point, Mapping):
        return None, None
    method = point.get("method")
    if method == "flag_rate":
        return None, float(point["flag_rate"])
    if method in ("cutoff", "recorded"):
        return float(point["cutoff"]), None
    return None, None


def _timed(recipe: Recipe) -> list[str]:
    """Why a recipe's outcome depends on time: its latency gates and its steps that must be faster."""
    reasons = [f"gate on {g.metric}" for g in recipe.gates if g.metric.startswith("latency")]
    for i, step in enumerate(recipe.steps):
        rule = getattr(step.method, "require_faster", "no")
        if rule != "no":
            reasons.append(f"step {i + 1} ({step.name}) is kept only if faster ({rule})")
    return reasons


def _rerun_student(art: Artifact, data: DataLike, out: Path, *, teacher: str | Path | None,
                   progress: bool, verify_key: Any = None) -> tuple[dict[str, Any], list[str], bool]:
    """Compress again from the recorded teacher; the new manifest, notes and determinism."""
    from finlite.jobs.compress import (
        CLASSIC_NAME,
        MARKET_CLASSIC_NAME,
        READY_PLAN_NOTE,
        compress,
        compress_with_recipe,
    )
    from finlite.methods.plan import PruningPlan

    manifest = art.manifest
    steps = manifest.get("steps") or []
    provenance = next((s["teacher"] for s in steps if isinstance(s.get("teacher"), Mapping)), None)
    if provenance is None:
        raise ArtifactError(f"{art.path} records no teacher in its steps (steps[0].teacher); it cannot be "
                            "compressed again.")
    if "recipe.yaml" not in manifest["files"]:
        raise ArtifactError(f"{art.path} holds no recipe.yaml; it cannot be compressed again.")
    from finlite._manifest import read_listed

    # Through the verified reader: the bytes whose sha256 the manifest records, not whatever is there now.
    raw = read_listed(art.path, manifest, "recipe.yaml")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # named, as compress --recipe names its file (a review, 2026-12-04)
        raise ArtifactError(f"{str(art.path / 'recipe.yaml')!r} is not UTF-8 text (byte {exc.start} is "
                            f"{raw[exc.start:exc.start + 1]!r}); finlite writes it as UTF-8, so the artifact was "
                            "altered. Re-create the artifact.") from None
    recipe = Recipe.from_yaml(text, source=str(art.path / "recipe.yaml"), recorded=True)
    source = _find_teacher(art, provenance, teacher, verify_key)
    config = _base_config(steps, recipe, "train", progress)
    fine_tune = _base_config(steps, recipe, "fine_tune", progress)
    notes: list[str] = [f"teacher: {source.path} (manifest sha256 {source.manifest['manifest_sha256']})"]
    from finlite.jobs.compress import teacher_difference

    differs = teacher_difference(source.manifest, provenance)
    if differs is not None:
        notes.append(f"warning: {differs}")
    # A student decides at its teacher's operating point unless the run set one at a flag rate.
    point = manifest.get("operating_point")
    flag_rate = None
    if point != source.manifest.get("operating_point") and isinstance(point, Mapping) \
            and point.get("method") == "flag_rate":
        flag_rate = float(point["flag_rate"])
    asked = _report_options(art)
    timed = _timed(recipe)
    if timed:
        notes.append("not deterministic: the run measures time (" + "; ".join(timed) + "), so a step may be kept "
                     "or rolled back differently on another machine or under other load; compared anyway")
    seed = int(manifest["seed"])
    # The classic run's own recipe, with the note it writes when it applies a ready plan (a user's
    # recipe whose description merely mentions a plan is not one).
    ready_plan = ("pruning_plan.json" in manifest["files"] and recipe.description == READY_PLAN_NOTE
                  and recipe.name in (CLASSIC_NAME, MARKET_CLASSIC_NAME))
    try:
        if ready_plan and len(recipe.steps) == 2:
            # A ready plan (compress --plan) was applied, not made: the recipe file alone would make a new one.
            plan = art.plan if art.plan is not None else PruningPlan.load(art.path / "pruning_plan.json")
            first = recipe.steps[0].method
            notes.append("the pruning step applied the artifact's ready plan (pruning_plan.json)")
            outcome = compress(source, data, student_hidden=tuple(first.hidden), distillation=first,
                               pruning=recipe.steps[1].method, plan=plan, seed=seed, config=config,
                               fine_tune=fine_tune, out=out, timing=bool(timed), progress=progress, flag_rate=flag_rate,
                               **asked)
        else:
            # The recorded recipe as it was: no gate added for a universe (it holds the one its run added).
            outcome = compress_with_recipe(source, data, recipe, seed=seed, config=config, fine_tune=fine_tune,
                                           out=out, timing=bool(timed), progress=progress, flag_rate=flag_rate,
                                           universe=False, **asked)
    except TooFewAlertsError as exc:
        # Recorded before an alert_overlap gate needed 20 of the teacher's validation alerts: the run
        # judged it on fewer, by chance, and this finlite will not (not reproduced, exit 1; the advice
        # to change the gate or the flag rate is not the reproducer's to take).
        # The advice that follows the finding is the run's maker's, not the reproducer's.
        notes.append(f"this finlite refuses the recorded run's gate: {exc.finding} The recorded run judged its alert_overlap "
                     "gate on fewer alerts than a rule since 2026-12-03 asks; it cannot be rerun as recorded")
        return {"metrics": {}, "files": {}}, notes, not timed
    except UnjudgedGateError as exc:
        # Recorded before a gate that judges nothing was refused (2026-12-07): not reproduced (exit
        # 1), not bad input (the advice to change the gate is not the reproducer's to take).
        notes.append(f"this finlite refuses the recorded run's gate: {exc.finding} It cannot be rerun as recorded")
        return {"metrics": {}, "files": {}}, notes, not timed
    except UnusablePlanError as exc:
        # The recorded run pruned so far that no input reached the output (a constant model); this
        # version refuses such a plan, made or ready, so the run cannot be made again: not reproduced
        # (exit 1), not bad input (its advice, "prune less", is not the reproducer's to take).
        notes.append(f"this finlite refuses the recorded run's pruning: {exc} The artifact's model scores every "
                     "row alike; it cannot be reproduced, and should not be used")
        return {"metrics": {}, "files": {}}, notes, not timed
    if outcome.path is None:
        # No step passed its gates this time, so there is no student: not reproduced (exit 1, not an error).
        notes.append("no step of the recipe passed its gates on the rerun, so it made no student: nothing matches")
        return {"metrics": {}, "files": {}}, notes, not timed
    return _manifest_of(out), notes, not timed


def _report_options(art: Artifact) -> dict[str, Any]:
    """The report options the artifact's run was given (report.json's ``options``: segments,
    protected columns, monotone directions, id column, domain, PD grades), so the rerun's report judges what
    the recorded one judged and the two can be compared (:func:`compare_evidence`). None recorded
    (no report, or an older one without options): the defaults."""
    if "report.json" not in art.manifest["files"]:
        return {}
    from finlite._manifest import read_listed
    from finlite._util import strict_json_loads
    from finlite.jobs.report import ReportOptions

    try:
        recorded = strict_json_loads(read_listed(art.path, art.manifest, "report.json").decode("utf-8"))
        options = ReportOptions.from_dict(recorded.get("options") if isinstance(recorded, Mapping) else None)
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError, TypeError):
        return {}  # an unreadable report is reported by the evidence's comparison
    # An unstated domain was read from the data file's name, which the rerun's file may not share:
    # the recorded one (report.json's domain) is passed (a review, 2026-12-06).
    recorded_domain = recorded.get("domain") if isinstance(recorded, Mapping) else None
    return {"segments": options.segments, "protected": options.protected, "monotone": options.monotone,
            "id_column": options.id_column,
            "domain": options.domain or (recorded_domain if isinstance(recorded_domain, str) else None),
            **({"grades": options.grades} if options.grades else {})}


def _rerun_teacher(art: Artifact, data: DataLike, out: Path, *, progress: bool) -> tuple[dict[str, Any], str]:
    """Train again with the recorded settings; the new manifest and the job's name."""
    from finlite._manifest import import_step

    manifest = art.manifest
    steps = manifest.get("steps") or []
    step = steps[0] if steps else {}
    imported = import_step(manifest)
    if imported is not None:
        raise ConfigError(f"{art.path} wraps a booster trained outside finlite ({imported.get('file')!r}, sha256 "
                          f"{imported.get('file_sha256')}); finlite did not train it and cannot train it again. Reproduce "
                          "its students instead, or re-import the booster with finlite import-teacher.",
                          param="artifact")
    if step.get("step") != "train" or not isinstance(step.get("model"), Mapping):
        raise ArtifactError(f"{art.path} records no training step (steps[0] with step 'train'); it cannot be "
                            "trained again.")
    model = dict(step["model"])
    seed = int(manifest["seed"])
    cutoff, flag_rate = _operating_options(manifest.get("operating_point"))
    config = _config(step["train"], progress) if isinstance(step.get("train"), Mapping) else None
    params = dict(step.get("params") or {}) or None
    if art.market is not None:
        return _rerun_forecaster(art, data, out, model=model, seed=seed, config=config, params=params,
                                 operating=(cutoff, flag_rate), progress=progress)
    from finlite.jobs.train import train

    schema = art.tabular.schema
    # An artifact made before the date cuts or the one shuffle is split as it was (whole_dates, one_shuffle).
    split = recorded_split(art)
    kind = model.get("kind")
    name = {"mlp": "mlp", "logistic": "logistic"}.get(str(kind)) or str(model.get("library"))
    extra: dict[str, Any] = {}
    if kind == "mlp":
        extra = {"hidden": tuple(model["hidden"]), "dropout": float(model.get("dropout", 0.3))}
    if kind == "logistic" and not isinstance(step.get("fit"), Mapping):
        # Made before logistic teachers were fitted by maximum likelihood (2026-12-07): trained
        # again as it was, by gradient steps with its recorded settings.
        extra = {"logistic_fit": "gradient"}
    elif kind == "logistic":  # the ridge it was fitted with (a record without "C": the default, 1)
        from finlite.training.linear import MIN_C, check_penalty_c

        fitted = step["fit"]
        c = None if fitted.get("penalty") == "none" else fitted.get("C", 1.0)
        try:
            extra = {"penalty_c": check_penalty_c(c)}
        except ConfigError:
            # The manifest, not the user's command, holds it: an artifact that cannot be trusted.
            raise ArtifactError(f"{art.path / 'manifest.json'} records the logistic teacher's fit with C {c!r} "
                                f"(steps[0].fit.C), which no fit takes (a number of at least {MIN_C:g}, or "
                                "penalty 'none'); the manifest was altered. Train the teacher again.") from None
    central = step.get("central_tendency")
    if central is not None:  # calibrated to a long-run rate as it was ("train": its split's own)
        from finlite.training.central import recorded_central_tendency

        # A record no training writes is an altered artifact, not a wrong option of the user's.
        recorded_central_tendency(steps, art.path / "manifest.json", task=manifest.get("task"), model=art.model)
        extra["central_tendency"] = central["asked"]
    train(data, target=schema.target, positive=schema.positive, numeric=list(schema.numeric),
          categorical=list(schema.categorical), drop=[c for c in schema.drop if c != split.group_column],
          date_column=split.date_column, group_column=split.group_column,
          model=name, seed=seed, cutoff=cutoff, flag_rate=flag_rate, config=config, out=out,
          gbdt_params=params, encoding=art.tabular.encoding, whole_dates=split.whole_dates,
          one_shuffle=split.one_shuffle, month_year=split.month_year, **extra)
    return _manifest_of(out), f"train --model {name}"


def _rerun_forecaster(art: Artifact, data: DataLike, out: Path, *, model: Mapping[str, Any], seed: int,
                      config: TrainConfig | None, params: dict[str, Any] | None,
                      operating: tuple[float | None, float | None], progress: bool) -> tuple[dict[str, Any], str]:
    """train_forecaster again with the recorded spec, walk-forward, model and costs."""
    from finlite.jobs.forecast import DEFAULT_COST_BPS, train_forecaster

    market = art.market
    if market is None:  # the caller checked; kept for the type checker
        raise ConfigError(f"{art.path} holds a tabular model, not a forecaster.", param="artifact")
    manifest = art.manifest
    walk = recorded_walk(art)
    kind = str(model.get("kind"))
    hidden: tuple[int, ...] | None
    if kind == "sequence":
        name, hidden = str(model["cell"]), tuple(model["hidden"])
    elif kind == "tcn":
        name, hidden = "tcn", tuple(model["channels"])
    elif kind == "transformer":
        name, hidden = "transformer", (int(model["d_model"]),) * int(model["layers"])
    elif kind == "gbdt":
        name, hidden = "lightgbm", None
    else:
        raise ArtifactError(f"{art.path} records a {kind!r} forecaster, which train_forecaster does not train.")
    cost = float(((manifest.get("metrics") or {}).get("forecast") or {}).get("cost_bps", DEFAULT_COST_BPS))
    train_forecaster(data, spec=market.spec, model=name, walk=walk, hidden=hidden, seed=seed, config=config,
                     cutoff=operating[0], flag_rate=operating[1], cost_bps=cost, out=out, progress=progress,
                     gbdt_params=params)
    return _manifest_of(out), f"train --task forecast --model {name}"


def _manifest_of(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _quality(metrics: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The metrics a reproduction compares: the test split's (and a teacher's validation and
    out-of-fold AUC, which its training also decides)."""
    out: dict[str, Any] = {"test": metrics.get("test") or {}}
    if role == "teacher":
        for key in _ROW_METRICS[1:]:  # validation_auc, train_oof_auc
            if key in metrics:
                out[key] = metrics[key]
    return out


@keeps_random_state
def reproduce(artifact: str | Path | Artifact, data: DataLike, *, teacher: str | Path | None = None,
              rel_tol: float = REL_TOL, progress: bool = False, verify_key: Any = None) -> Reproduction:
    """Run the job that made ``artifact`` again, from its recorded seed, data and settings, and compare.

    ``data`` must have the content sha256 the manifest records. A student is compressed again
    from its teacher (the recorded path, or ``teacher``; it must have the recorded manifest
    sha256, or the same model files when it was exported or signed since; with ``verify_key``
    (default ``$FINLITE_VERIFY_KEY``) the student and its teacher must be signed by that key) with its recipe.yaml, seed, training settings and operating point; a teacher is
    trained again with its recorded model, columns, encoding, split, training settings and
    operating point. The new artifact is written to a temporary folder, removed afterwards.
    Metrics under ``metrics.test`` (and a teacher's ``validation_auc`` / ``train_oof_auc``) are
    compared within ``rel_tol`` relative, timing keys skipped, and the manifest's other metrics
    likewise (:func:`compare_recorded_metrics`); the model files by sha256.

    Raises:
        DataError: ``data`` is not the recorded data (the message names both hashes).
        ConfigError: the recorded teacher is missing or changed (naming its path and sha256), or the
            artifact wraps an imported booster, which finlite cannot train again.
        ArtifactError: the artifact is unreadable or records too little to run again.
    """
    check_flags("reproduce", progress=progress)
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    found, table = _check_data(art, data)
    manifest = art.manifest
    role = str(manifest.get("role"))
    # Weights are written again in the form the artifact was written in (format 1 before the key
    # existed), so that the files' sha256 and every size compare as they were recorded.
    # An artifact made before finlite averaged the unseen buckets' weights is run again without it.
    with tempfile.TemporaryDirectory(prefix="finlite-reproduce-") as tmp, \
            weights_format(int(manifest.get("weights_format", 1))), \
            unseen.averaging(unseen.recorded(manifest.get("steps") or [])):
        out = Path(tmp) / "run"
        if role == "student":
            new, notes, deterministic = _rerun_student(art, data, out, teacher=teacher, progress=progress,
                                                       verify_key=verify_key)
            job = "compress"
        else:
            if teacher is not None:
                raise ConfigError(f"{art.path} is a teacher, trained from data alone; teacher= applies to a "
                                  "student. Drop teacher.", param="teacher")
            new, job = _rerun_teacher(art, data, out, progress=progress)
            notes, deterministic = [], True
        rerun_pre = (out / PREPROCESSOR).read_bytes() if (out / PREPROCESSOR).is_file() else None
        rerun_report = (out / "report.json").read_bytes() if (out / "report.json").is_file() else None
        rerun_docs = {name: (out / name).read_bytes() for name in _RERUN_DOCUMENTS if (out / name).is_file()}
    checks, skipped = compare_metrics(_quality(manifest.get("metrics") or {}, role),
                                      _quality(new.get("metrics") or {}, role), rel_tol=rel_tol)
    if manifest.get("cutoff") is not None or new.get("cutoff") is not None:
        # The cut-off score and serve decide at, as the rerun sets it again: the manifest's cutoff
        # and operating point edited together (and re-hashed) passed, as only metrics.test.cutoff
        # was compared (an auditor's walk-through, 2026-12-06).
        recorded_cut, rerun_cut = manifest.get("cutoff"), new.get("cutoff")
        checks.append(MetricCheck(DECISION_CUTOFF, recorded_cut, rerun_cut, _same(recorded_cut, rerun_cut, rel_tol)))
    files = {}
    for name in MODEL_FILES:
        old_sha, new_sha = manifest["files"].get(name), new["files"].get(name)
        if old_sha is not None or new_sha is not None:
            files[name] = {"recorded": old_sha, "reproduced": new_sha, "match": old_sha == new_sha}
    if PREPROCESSOR in manifest["files"] and rerun_pre is not None:
        from finlite._manifest import read_listed

        recorded_pre = read_listed(art.path, manifest, PREPROCESSOR)
        old_enc = _encoding_sha256(recorded_pre)
        new_enc = _encoding_sha256(rerun_pre, like=recorded_pre)
        files[f"{PREPROCESSOR} (encoding)"] = {"recorded": old_enc, "reproduced": new_enc, "match": old_enc == new_enc}
    served = None if table is None else _served_check(art, table, found)
    if served is not None:
        # Named by the files checked: a swapped model_int8.onnx was reported under model.onnx's
        # name and sha256 (an auditor's walk-through, 2026-12-06).
        exported = [n for n in ("model.onnx", "model_int8.onnx") if n in manifest["files"]]
        files[f"{', '.join(exported)} (served)"] = served
    checks, recount = _recounted(checks, files)
    notes += recount
    checks, newer = _newer_metrics(checks, manifest.get("metrics") or {})
    notes += newer
    checks, dropped = _dropped_metrics(checks, manifest)
    notes += dropped
    checks, scaled = _scaled_headline(checks)
    notes += scaled
    checks, volatility = _added_volatility_metrics(checks)
    notes += volatility
    if skipped:
        notes.append(f"skipped {len(skipped)} timing measurement(s): {', '.join(skipped)}")
    notes += _new_rule_notes(manifest.get("steps") or [], new.get("steps") or [])
    other_file = None if table is None else _other_file_note(art, table)
    if other_file is not None:
        notes.append(other_file)
    notes += version_notes(manifest.get("versions") or {}, new.get("versions") or {})
    evidence = None
    if role == "student" and rerun_report is not None and "report.json" in manifest["files"]:
        from finlite._manifest import read_listed

        evidence = compare_evidence(read_listed(art.path, manifest, "report.json"), rerun_report, rel_tol=rel_tol,
                                    manifest_metrics=manifest.get("metrics") or {})
    documents = compare_documents(art, rerun_docs, deterministic=deterministic) if role == "student" else {}
    recorded_code = (manifest.get("versions") or {}).get("finlite_code_sha256")
    other_code = recorded_code is None or recorded_code != (new.get("versions") or {}).get("finlite_code_sha256")
    # Only a rerun that made something has metrics to compare (a refused one's notes say why).
    rest = (compare_recorded_metrics(manifest.get("metrics") or {}, new.get("metrics") or {},
                                     judged=deterministic and not other_code, rel_tol=rel_tol)
            if new.get("metrics") else None)
    return Reproduction(artifact=art.path, job=job, seed=int(manifest["seed"]), data_sha256=found, metrics=checks,
                        skipped=skipped, files=files, deterministic=deterministic, notes=notes, evidence=evidence,
                        documents=documents, other_code=other_code, recorded_metrics=rest)


#: The report's documents a reader signs off on, besides report.json: rendered from it (report.html,
#: MODEL_CARD.md), or written by the run beside it (report.md, flips.csv).
_RENDERED_DOCUMENTS = ("report.html", "MODEL_CARD.md")
_RERUN_DOCUMENTS = ("report.md", "flips.csv")
#: A report.md line a rerun without the recorded timings writes otherwise: a latency, a throughput,
#: the runtime timed.
_TIMED_LINE = re.compile(r"µs|rows/s|^\|\s*(?:timed in|speed)", re.IGNORECASE)


#: report.md's first line: the report's status and the sections that set it (compress.markdown_verdict).
_STATUS_LINE = "Validation report status: "

#: The data's file name in report.md, which a rerun from a copy of the same rows names otherwise.
_SOURCE_NAME = re.compile(r"^source: .*? \(content sha256 ", re.MULTILINE)


def _timing_only(recorded: str, rerun: str, status_line: str | None = None) -> bool:
    """Whether two report.md texts differ only in lines of timings (see :data:`_TIMED_LINE`), in
    the data's file name beside the same content sha256, and in the status line where the recorded
    one is ``status_line`` (the one the recorded report.json renders): the cost section's status
    comes from timings (a student timed slower on a loaded machine is WARN there), and a rerun's
    line named it where the recorded one did not (a fresh clone's tests, 2026-12-06)."""
    import difflib

    recorded, rerun = (_SOURCE_NAME.sub("source: (content sha256 ", text) for text in (recorded, rerun))
    diff = [line for line in difflib.unified_diff(recorded.splitlines(), rerun.splitlines(), lineterm="", n=0)
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]

    # A status line may change only as a pair: the recorded one as its report.json renders it,
    # replaced by the rerun's (a deleted recorded line left the rerun's alone, accepted: a review).
    removed = [line[1:] for line in diff if line.startswith("-") and line[1:].startswith(_STATUS_LINE)]
    added = [line[1:] for line in diff if line.startswith("+") and line[1:].startswith(_STATUS_LINE)]
    status_moved = status_line is not None and removed == [status_line] and len(added) == 1

    def explained(line: str) -> bool:
        if _TIMED_LINE.search(line[1:]):
            return True
        return status_moved and line[1:].startswith(_STATUS_LINE)

    return all(explained(line) for line in diff)


def compare_documents(art: Artifact, rerun: Mapping[str, bytes], *, deterministic: bool) -> dict[str, dict[str, Any]]:
    """The student's human-readable evidence against what it must be, each ``{"match": bool | None,
    "against": how}`` (None: not judged, and why): report.html and MODEL_CARD.md rendered again
    from the recorded report.json (by the same code: its ``finlite_code_sha256``), byte for byte;
    flips.csv and report.md against the rerun's, in a deterministic run (report.md but for the
    timing rows a rerun does not measure). An edited card (WARN made PASS), an edited page or a
    deleted flipped row, re-hashed, was "reproduced", since only report.json was compared (an
    auditor's walk-through, 2026-12-06)."""
    from finlite._manifest import read_listed
    from finlite._util import strict_json_loads
    from finlite._version import code_sha256

    listed = art.manifest.get("files") or {}
    out: dict[str, dict[str, Any]] = {}
    if "report.json" not in listed:
        return out
    try:
        report = strict_json_loads(read_listed(art.path, art.manifest, "report.json").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        report = None  # compare_evidence says so
    code = code_sha256()
    same_code = code is not None and isinstance(report, Mapping) and report.get("finlite_code_sha256") == code
    wanted = [n for n in _RENDERED_DOCUMENTS if n in listed]
    if wanted:
        if not same_code:
            for name in wanted:
                out[name] = {"match": None, "against": "report.json, rendered by other finlite code: not judged"}
        else:
            from finlite.jobs.report import render_report_files

            rendered = render_report_files(report)
            for name in wanted:
                if name in rendered:
                    same = rendered[name].encode("utf-8") == read_listed(art.path, art.manifest, name)
                    out[name] = {"match": same, "against": "report.json, rendered again"}
    for name in (n for n in _RERUN_DOCUMENTS if n in listed):
        if not deterministic or not same_code or name not in rerun:
            why = ("the run is not deterministic" if not deterministic else
                   "another finlite wrote it" if not same_code else "the rerun wrote none")
            out[name] = {"match": None, "against": f"the rerun's: not judged ({why})"}
            continue
        recorded = read_listed(art.path, art.manifest, name)
        if name == "report.md":
            from finlite.jobs.compress import markdown_verdict

            status = markdown_verdict(report, []).splitlines()[0] if isinstance(report, Mapping) else None
            same = _timing_only(recorded.decode("utf-8", "replace"), rerun[name].decode("utf-8", "replace"), status)
            out[name] = {"match": same, "against": "the rerun's, timing rows aside"}
        else:
            out[name] = {"match": recorded == rerun[name], "against": "the rerun's"}
    return out


#: report.json's parts that a rerun does not repeat: the cost section (it times the models), and
#: the names and paths of the folders (the rerun writes to a temporary one; its teacher may be
#: found at another path, or by its model files once exported or signed).
_UNREPEATED_SECTIONS = ("cost",)
_UNREPEATED_KEYS = ("teacher_manifest_sha256", "versions", "path", "artifact")
#: Differences named at most in the record (their count is always given).
_MAX_DIFFERENCES = 10


def _evidence(report: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers and statuses of a report.json, flattened: the comparison's models and fidelity,
    and each section's status and metrics (not its words, which format the same numbers)."""
    from finlite.evaluate.sections import STATUSES, worst

    # (A forecaster's evidence and an imported teacher's provenance too: a re-hashed edit of either
    # passed, note 76.)
    parts: dict[str, Any] = {k: report.get(k) for k in ("student", "teacher", "fidelity", "ratios", "forecast",
                                                        "teacher_import")}
    # The overall status but for the timed sections' part in it: a student timed slower on a loaded
    # machine makes the cost section WARN, which could move it (as report.md's status line: a fresh
    # clone's tests, 2026-12-06). Each section's own status is compared below.
    sections = [s for s in report.get("sections") or [] if isinstance(s, Mapping)]
    errors = ["WARN" for o in report.get("omitted") or [] if isinstance(o, Mapping) and o.get("error")]
    judged = [str(s.get("status")) for s in sections if s.get("id") not in _UNREPEATED_SECTIONS]
    every = [str(s.get("status")) for s in sections]
    # (A status no section can hold, written by hand, is left as it is: the sections' own differ.)
    known = bool(sections) and all(st in STATUSES for st in every)
    parts["status"] = worst([*judged, *errors]) if known else report.get("status")
    # And the recorded status must be what all its sections set, cost included: an overall WARN
    # edited to PASS over WARN sections, re-hashed and re-rendered, passed (a review, 2026-12-06).
    parts["status_of_its_sections"] = report.get("status") == worst([*every, *errors]) if known else None
    for section in report.get("sections") or []:
        if isinstance(section, Mapping) and section.get("id") not in _UNREPEATED_SECTIONS:
            parts[f"sections.{section.get('id')}"] = {"status": section.get("status"),
                                                      "metrics": section.get("metrics")}
    flat = flatten_metrics(parts)

    return {k: v for k, v in flat.items() if _repeated(k)}


def _repeated(key: str, *, skip: tuple[str, ...] = ()) -> bool:
    """Whether a flattened name is one a rerun must repeat: no part of it is a timing, a folder's
    name or path (:data:`_UNREPEATED_KEYS`), or one of ``skip``."""
    names = [p.split("[", 1)[0] for p in key.split(".")]
    return not any(is_timing(n) or n in _UNREPEATED_KEYS or n in skip for n in names)


def compare_evidence(recorded: bytes, rerun: bytes, *, rel_tol: float = REL_TOL,
                     manifest_metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """report.json's numbers and statuses against the rerun's report (:func:`_evidence`), within
    ``rel_tol``, on the values both hold. An edited report.json whose manifest was re-hashed (a
    student AUC of 0.944 for 0.844) was "reproduced", since only the manifest's metrics were
    compared (a validator's walk-through, 2026-12-06). Judged only when the same code built both
    (``finlite_code_sha256``, :func:`finlite._version.code_sha256`; a report without it is older):
    other code's rules and sections give other evidence by design (``judged`` False, and the
    differences are listed for the reader). Whatever the code, the report's student metrics must
    be the manifest's own (``manifest_metrics``, its ``metrics.test``, recorded by the same run):
    a report stripped of its code digest was otherwise never judged (a review, 2026-12-06)."""
    from finlite._util import strict_json_loads

    try:
        recorded_report = strict_json_loads(recorded.decode("utf-8"))
        old = _evidence(recorded_report)
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError, TypeError) as exc:
        # Hashed as recorded, yet not a report finlite writes: altered, and not the rerun's.
        return {"compared": 0, "judged": True, "match": False, "different": 0, "only_recorded": 0,
                "only_reproduced": 0, "differences": [f"the recorded report.json cannot be read ({str(exc)[:200]})"]}
    rerun_report = strict_json_loads(rerun.decode("utf-8"))
    new = _evidence(rerun_report)
    code = recorded_report.get("finlite_code_sha256") if isinstance(recorded_report, Mapping) else None
    same_code = code is not None and code == rerun_report.get("finlite_code_sha256")
    both = [k for k in old if k in new]
    differ = [k for k in both if not _same(old[k], new[k], rel_tol)]
    shown = [f"{k}: recorded {_shown(old[k])}, reproduced {_shown(new[k])}" for k in differ]
    # The run's own two records of its numbers must agree, whoever built the report: report.json's
    # student, teacher, fidelity and ratios blocks are the manifest's metrics.test, teacher_test,
    # fidelity and ratios (one dict, written twice). A key the manifest has and the report lacks
    # is a disagreement too: deleting a block passed (a review, 2026-12-06).
    inconsistent: list[str] = []
    held: dict[str, Any] = {}
    sections = recorded_report.get("sections") if isinstance(recorded_report, Mapping) else None
    summary = next((sec.get("metrics") for sec in sections or [] if isinstance(sec, Mapping)
                    and sec.get("id") == "summary" and isinstance(sec.get("metrics"), Mapping)), None) or {}
    # (report block, its record, manifest metrics key, whether each of the manifest's keys must be there):
    # the summary section shows a subset of the same numbers (an edited summary AUC, digest stripped).
    pairs = [("student", recorded_report.get("student") if isinstance(recorded_report, Mapping) else None, "test", True),
             ("teacher", recorded_report.get("teacher") if isinstance(recorded_report, Mapping) else None,
              "teacher_test", True),
             ("fidelity", recorded_report.get("fidelity") if isinstance(recorded_report, Mapping) else None,
              "fidelity", True),
             ("ratios", recorded_report.get("ratios") if isinstance(recorded_report, Mapping) else None, "ratios", True),
             ("sections.summary.metrics.student", summary.get("student"), "test", False),
             ("sections.summary.metrics.teacher", summary.get("teacher"), "teacher_test", False)]
    for block, given, key, whole in pairs:
        wanted = (manifest_metrics or {}).get(key)
        if not isinstance(wanted, Mapping):
            continue
        for k, v in wanted.items():
            if is_timing(k) or isinstance(v, (Mapping, list)):
                continue
            mine = given.get(k) if isinstance(given, Mapping) else None
            if (whole and mine is None and v is not None) or (mine is not None and not _same(mine, v, rel_tol)):
                inconsistent.append(f"{block}.{k}")
                held[f"{block}.{k}"] = (mine, v)
    record: dict[str, Any] = {
        "compared": len(both), "judged": same_code or bool(inconsistent),
        "match": not differ if same_code else not inconsistent, "different": len(differ),
        "differences": ([f"{k}: report.json {_shown(held[k][0])}, the manifest {_shown(held[k][1])}"
                         for k in inconsistent] + shown)[:_MAX_DIFFERENCES],
        "only_recorded": len(old) - len(both), "only_reproduced": len(new) - len(both),
        "inconsistent_with_manifest": len(inconsistent)}
    return record


#: The manifest's metrics a reproduction compares one by one (:func:`_quality`); the rest are
#: compared by :func:`compare_recorded_metrics`.
_ROW_METRICS = ("test", "validation_auc", "train_oof_auc")


def _recorded_rest(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest's metrics but those compared row by row, flattened, timings left out: a gate
    that judged a timing (its value and verdict) too, and the words of a warning (they format the
    numbers compared)."""
    rest: dict[str, Any] = {}
    for key, value in metrics.items():
        if key in _ROW_METRICS:
            continue
        if key == "gates" and isinstance(value, list):
            value = [g for g in value if not (isinstance(g, Mapping) and is_timing(str(g.get("metric", ""))))]
        rest[key] = value
    return {k: v for k, v in flatten_metrics(rest).items() if _repeated(k, skip=("warnings",))}


def compare_recorded_metrics(recorded: Mapping[str, Any], rerun: Mapping[str, Any], *, judged: bool,
                             rel_tol: float = REL_TOL) -> dict[str, Any] | None:
    """The manifest's metrics beyond the test split's rows (:data:`_ROW_METRICS`) against the
    rerun's: a forecaster's evidence (every model's and baseline's errors, Diebold-Mariano tests,
    the VaR backtest and its traffic light), a student's fidelity, ratios and gates, the operating
    point. A re-hashed edit of any of them (a 99 % VaR zone from red to green) passed reproduce,
    as only ``metrics.test`` was compared (note 76). ``judged`` when the same code made both in a
    run that measures no time: other code may compute more or differently by design, and a timed
    gate may decide otherwise on another machine (then the differences are listed, not judged).
    A value only one side holds differs. None when neither side records any."""
    old, new = _recorded_rest(recorded), _recorded_rest(rerun)
    if not old and not new:
        return None
    names = [*old, *(k for k in new if k not in old)]
    differ = [k for k in names if k not in old or k not in new or not _same(old[k], new[k], rel_tol)]

    def shown(k: str, side: Mapping[str, Any]) -> str:
        return _shown(side[k]) if k in side else "(absent)"

    return {"compared": len(names), "judged": judged, "match": not differ, "different": len(differ),
            "differences": [f"{k}: recorded {shown(k, old)}, reproduced {shown(k, new)}"
                            for k in differ][:_MAX_DIFFERENCES]}


def _encoding_sha256(raw: bytes, like: bytes | None = None) -> str | None:
    """sha256 of a preprocessor.json's canonical JSON without its schema's notes (how the columns
    were found, which a rerun with the columns named says differently); None when unreadable.
    With ``like`` (the recorded file), only the keys it has are read: a newer finlite records
    more (each number's training range), which an artifact made before it never held, and the
    same encoding must still match (a review, 2026-12-06)."""
    import hashlib

    try:
        spec = json.loads(raw)
        shape = json.loads(like) if like is not None else None
    except ValueError:
        return None
    if shape is not None:
        spec = _keys_of(spec, shape)
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        spec = {**spec, "schema": {k: v for k, v in spec["schema"].items() if k != "notes"}}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _keys_of(value: Any, shape: Any) -> Any:
    """``value`` with only the mapping keys ``shape`` has, at every depth (lists item by item)."""
    if isinstance(value, dict) and isinstance(shape, dict):
        return {k: _keys_of(value[k], shape[k]) for k in shape if k in value}
    if isinstance(value, list) and isinstance(shape, list) and len(value) == len(shape):
        return [_keys_of(v, w) for v, w in zip(value, shape, strict=True)]
    return value


def _served_check(art: Artifact, table: Any, content_sha256: str) -> dict[str, Any] | None:
    """Whether the exported model (what score and serve run) agrees with the weights reproduced
    on the data's test split, as ``evaluate`` checks it: a model.onnx swapped for another (the
    manifest re-hashed) was "reproduced" (an MLOps walk-through, 2026-12-06). ``table`` is the data
    :func:`_check_data` read and hashed. None for an artifact not exported, or a forecaster (its
    export parity is checked by evaluate)."""
    from finlite.errors import ArtifactError

    if "model.onnx" not in art.manifest["files"] or art.market is not None:
        return None
    from finlite.artifact import prepare_if_trained_on
    from finlite.jobs.evaluate import check_served_model

    prepared = prepare_if_trained_on(art, table, content_sha256=content_sha256)
    if prepared is None:
        return None
    sha = ", ".join(art.manifest["files"][n] for n in ("model.onnx", "model_int8.onnx") if n in art.manifest["files"])
    try:
        agreement = check_served_model(art, prepared.x_test, "test")
    except ArtifactError as exc:
        return {"recorded": sha, "reproduced": f"disagrees with the weights: {exc}", "match": False}
    return {"recorded": sha, "reproduced": f"agrees with the weights ({agreement.get('status', 'checked')})",
            "match": True}


def version_notes(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """A note naming each library whose version differs from the one the artifact records (of
    those both record): the first suspect when a number does not match. A library recorded as
    not installed is left out: it shaped none of the recorded numbers (and manifests before
    2026-12-05 recorded XGBoost so even where it was installed, as ``xgboost-cpu``)."""
    code = "finlite_code_sha256"
    changed = [f"{name} {recorded[name]} → {now[name]}" for name in sorted(recorded.keys() & now.keys())
               if name != code and str(recorded[name]) != str(now[name]) and str(recorded[name]) != "not installed"]
    notes = []
    if recorded.get(code) is not None and now.get(code) is not None and recorded[code] != now[code]:
        notes.append(f"the artifact was made by other finlite code (code sha256 {str(recorded[code])[:16]}…, this "
                     f"finlite's {str(now[code])[:16]}…): a number that does not match may come from a rule changed "
                     "since")
    if changed:
        notes.append(f"library versions differ from the ones the artifact records: {', '.join(changed)}; a number "
                     "that does not match may come from them (install the recorded versions to rerun it exactly)")
    return notes


#: Counts finlite derives from a model's weights by a rule, not measured on the data.
COUNTED_KEYS = ("flops_per_row", "flops_per_row_nonzero")


def _recounted(checks: list[MetricCheck], files: Mapping[str, Mapping[str, Any]]) -> tuple[list[MetricCheck], list[str]]:
    """A FLOP count that differs where every model file matches by sha256: the same model, counted
    by a newer rule (since 2026-12-03 a forecaster's layers count once per step of its window, an
    LSTM over 30 steps having been recorded at 65, and an integer logistic or scorecard counts its
    arithmetic, recorded as 0). Matched, with a note; with other weights it stays a mismatch."""
    if not files or not all(f["match"] for f in files.values()):
        return checks, []
    out, notes = [], []
    for check in checks:
        if not check.match and check.name.rsplit(".", 1)[-1] in COUNTED_KEYS:
            notes.append(f"{check.name}: recorded {_shown(check.recorded)}, counted {_shown(check.reproduced)} for the "
                         "same weights (sha256 equal): the FLOP count's rule changed (since 2026-12-03 a forecaster's "
                         "layers count once per step of its window, and an integer logistic or scorecard its "
                         "arithmetic), not the model.")
            check = replace(check, match=True)
        out.append(check)
    return out, notes


#: Classifier metrics finlite added on 2026-12-04 (late), and one it redefined then: a manifest
#: whose test metrics lack ``precision`` was written before both.
ADDED_METRICS = ("precision", "recall")
REDEFINED_METRICS = ("ks",)


def _newer_metrics(checks: list[MetricCheck], metrics: Mapping[str, Any]) -> tuple[list[MetricCheck], list[str]]:
    """Leave out of the comparison what an artifact made before 2026-12-04 (late) could not
    record: precision and recall at the cut-off (added), and a KS that differs because KS is now
    taken in the score's direction (the artifact recorded the absolute gap), each with a note.
    Without this every older classifier was "NOT reproduced" with no word of why (a review)."""
    test = metrics.get("test")
    if not isinstance(test, Mapping) or "f1" not in test or "precision" in test:
        return checks, []
    out, dropped, redefined = [], [], []
    for check in checks:
        metric = check.name.rsplit(".", 1)[-1]
        if metric in ADDED_METRICS and check.recorded is None:
            dropped.append(check.name)
            continue
        if metric in REDEFINED_METRICS and not check.match:
            redefined.append(f"{check.name} recorded {_shown(check.recorded)}, now {_shown(check.reproduced)}")
            continue
        out.append(check)
    notes = []
    if dropped:
        notes.append(f"not compared: {', '.join(dropped)}, metrics added since the artifact was made")
    if redefined:
        notes.append(f"not compared: {'; '.join(redefined)}: KS is now taken in the score's direction (0 for a "
                     "reversed ranking), where the artifact recorded the absolute gap")
    return out, notes


def _left_out(checks: list[MetricCheck], left_out: Callable[[MetricCheck], bool],
              why: str) -> tuple[list[MetricCheck], list[str]]:
    """``checks`` without those ``left_out`` picks, and the note naming them with ``why``."""
    dropped = [c.name for c in checks if left_out(c)]
    if not dropped:
        return checks, []
    return [c for c in checks if not left_out(c)], [f"not compared: {', '.join(dropped)}: {why}"]


def _dropped_metrics(checks: list[MetricCheck], manifest: Mapping[str, Any]) -> tuple[list[MetricCheck], list[str]]:
    """Leave out what a direction forecaster made before 2026-12-05 recorded and no longer
    reports: MASE and MAPE of a probability against 0/1 outcomes
    (:data:`finlite.jobs.forecast.DIRECTION_DROPPED`), with a note; without this every older
    direction teacher was "NOT reproduced"."""
    from finlite.jobs.forecast import DIRECTION_DROPPED

    if manifest.get("task") != "direction":
        return checks, []
    return _left_out(checks, lambda c: c.name.rsplit(".", 1)[-1] in DIRECTION_DROPPED and c.reproduced is None,
                     "a direction model no longer reports MASE or MAPE (of a probability against 0/1 outcomes, they "
                     "judge nothing)")


def _scaled_headline(checks: list[MetricCheck]) -> tuple[list[MetricCheck], list[str]]:
    """Leave out a forecaster's test MASE that an artifact made before 2026-12-06 (evening)
    recorded as null and the rerun now gives (:func:`finlite.jobs.forecast.scale_headline`), with
    a note; without this every older compressed forecaster was "NOT reproduced". A recorded
    number is compared as any other."""
    return _left_out(checks, lambda c: c.name == "test.mase" and c.recorded is None
                     and isinstance(c.reproduced, (int, float)),
                     "the artifact recorded no headline MASE, which a forecaster's report now gives (the model's MAE "
                     "over the naive forecast's on the training windows, as its forecast evidence)")


#: What a volatility forecaster's evidence gives from 2026-12-07 (evaluate.forecast.volatility_metrics).
VOLATILITY_ADDED = ("qlike", "variance_ratio", "volatility_rows", "nonpositive_forecasts")


def _added_volatility_metrics(checks: list[MetricCheck]) -> tuple[list[MetricCheck], list[str]]:
    """Leave out a volatility forecaster's QLIKE and variance ratio that an artifact made before
    2026-12-07 did not record and the rerun now gives, with a note; without this every older
    volatility forecaster was "NOT reproduced". A recorded number is compared as any other."""
    # A null reproduced too (QLIKE is None where a forecast is 0): the artifact had no such key at all.
    return _left_out(checks, lambda c: c.name.rsplit(".", 1)[-1] in VOLATILITY_ADDED and c.recorded is None
                     and not c.match,
                     "the artifact recorded no QLIKE or variance ratio, which a volatility forecaster's evidence now "
                     "gives")


def _new_rule_notes(recorded: list[Any], rerun: list[Any]) -> list[str]:
    """Why a rerun rolled back a step the recorded run kept, when a check added since made it: a
    candidate that flags no row (or every row) beside a decision gate (recipe.gates.decision_check,
    2026-12-03). Without this the run was "NOT reproduced" with no word of the cause (a review)."""
    notes = []
    for i, (old, new) in enumerate(zip(recorded, rerun, strict=False)):
        if not (isinstance(old, dict) and isinstance(new, dict)) or old.get("status") != "kept" \
                or new.get("status") != "rolled_back":
            continue
        decides = [g for g in new.get("gates") or [] if isinstance(g, dict) and g.get("kind") == "decides"
                   and not g.get("passed")]
        if decides:
            notes.append(f"step {i + 1} ({new.get('method')}) was kept by the recorded run and rolled back "
                         f"by this one: {decides[0].get('message')}. finlite checks this beside a decision gate since "
                         "2026-12-03 (a student that raises no alert agreed with its teacher on most rows); the "
                         "recorded model makes no decisions at its cut-off, so this finlite does not make it again.")
    return notes


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.12g}"
    return "-" if value is None else str(value)


def render_reproduction(result: Reproduction) -> str:
    """The comparison as plain text: metric | recorded | reproduced | match, then the weights and the verdict."""
    # With no rerun to compare (it was refused, or made no student) the reason is in the notes,
    # and no row is a mismatch: each says it was not rerun.
    rerun = result.rerun
    rows = [["metric", "recorded", "reproduced", "match"]]
    rows += [[m.name, _shown(m.recorded), _shown(m.reproduced), "yes" if m.match else ("NO" if rerun else "not rerun")]
             for m in result.metrics]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"reproduce {result.artifact} ({result.job}, seed {result.seed}, data sha256 {result.data_sha256})"]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
              for r in rows]
    for name, f in result.files.items():
        lines.append(f"{name}: recorded {f['recorded']}, reproduced {f['reproduced']}")
    lines.append(f"weights match: {'yes' if result.weights_match else 'no'}"
                 + ("" if result.deterministic else " (not deterministic: not part of the verdict)"))
    ev = result.evidence
    if ev is not None:
        lines.append(f"report.json evidence: {ev['compared']:,} values compared, {ev['different']:,} differ"
                     + ("" if ev["judged"] else " (built by other finlite code: listed, not part of the verdict)"))
        lines += [f"  differs: {d}" for d in ev["differences"]]
    rest = result.recorded_metrics
    if rest is not None:
        why = ("" if rest["judged"] else " (built by other finlite code: listed, not part of the verdict)"
               if result.other_code else " (a run that measures time: listed, not part of the verdict)")
        lines.append(f"the manifest's other metrics (evidence, fidelity, gates, operating point): {rest['compared']:,} "
                     f"values compared, {rest['different']:,} differ{why}")
        lines += [f"  differs: {d}" for d in rest["differences"]]
    for name, doc in result.documents.items():
        said = {True: "the same", False: "DIFFERS", None: ""}[doc.get("match")]
        lines.append(f"{name} against {doc.get('against')}" + (f": {said}" if said else ""))
    lines += [n if n.startswith("warning: ") else f"note: {n}" for n in result.notes]
    if result.matched:
        verdict = "reproduced: the same metrics" + (" and weights" if result.deterministic else "")
        if ev is not None and not ev["judged"]:
            verdict += ("; report.json's sections were built by other finlite code (or record no code digest) and "
                        "were not verified against the rerun")
        elif rest is not None and not rest["judged"] and rest["different"]:
            verdict += ("; the manifest's other metrics differ from the rerun's, which " +
                        ("other finlite code made" if result.other_code else "measures time") + ": not verified")
    elif not rerun:
        verdict = "NOT reproduced: the rerun made nothing to compare; see the notes above"
    elif (result.metrics_match and result.evidence_match and not result.documents_match
          and (result.weights_match or not result.deterministic)):
        differ = ", ".join(n for n, d in result.documents.items() if d.get("match") is False)
        verdict = (f"NOT reproduced: the metrics and report.json match, but {differ} differ from what report.json "
                   "renders or the rerun wrote: edited after the run (see above)")
    elif result.metrics_match and not result.evidence_match and (result.weights_match or not result.deterministic):
        verdict = "NOT reproduced: the metrics match but report.json's evidence differs from the rerun's (see above)"
    elif (result.metrics_match and not result.recorded_metrics_match
          and (result.weights_match or not result.deterministic)):
        verdict = ("NOT reproduced: the test metrics match but the manifest's other metrics differ from the rerun's "
                   "(see above)")
    elif result.metrics_match:  # a deterministic run whose metrics all match: only the model files differ
        unmatched = [n for n, f in result.files.items() if not f["match"]]
        if unmatched and all(n.endswith("(served)") for n in unmatched):
            verdict = ("NOT reproduced: the metrics and the weights match, but the exported model that score and "
                       "serve run disagrees with the weights (see above)")
        else:
            verdict = "NOT reproduced: the metrics match but the weights differ (weights match: no)"
    else:
        verdict = "NOT reproduced: see the rows marked NO above"
    if rerun and not result.matched and result.other_code:
        # An upgrade made every older artifact "NOT reproduced", with the cause only in a note, or
        # none where the artifact records no code digest (an upgrade walk-through, 2026-12-07).
        verdict += ("; the artifact was made by other finlite code (its code sha256 differs, or it records none): "
                    "a rule changed since may explain it, so rerun it with the finlite that made it before taking "
                    "it for altered")
    lines.append(verdict)
    return "\n".join(lines)
