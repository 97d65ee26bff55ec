"""Every error finlite raises on purpose.

The tree::

    FinliteError                      base: catch this to catch anything finlite raises
    ├── DataError(ValueError)         the input table is unusable (file, column or value)
    │   └── ScoreError                the model gave a non-finite score: no decision is made
    ├── ConfigError(ValueError)       a parameter, method config or plan is invalid
    │   ├── UnsupportedModelError     a method that does not work on this kind of model
    │   ├── UnusablePlanError         a pruning plan that leaves a model scoring every row alike
    │   └── TooFewAlertsError         an alert-overlap gate on too few alerts to judge
    ├── ArtifactError                 an artifact directory is missing, incomplete or tampered
    ├── ExportError                   no ONNX form, or the ONNX model does not match the original
    └── GatesFailedError              signing a student that failed its quality gates (exit 1)

Each message names the file, column, field or value at fault and says how to fix it; the
command-line interface prints it as one paragraph and exits with code 2. What a job finds
without stopping is a :class:`FinliteWarning` (a ``UserWarning``), not an error.

Errors are written in the caller's language. A library error about a Python parameter names
that parameter as Python spells it (``overwrite=True``, "the 'sparsity' parameter of
MagnitudePruning") and carries its name as data in :attr:`FinliteError.param`; the command line
looks the name up in its one table of flags and names the flag instead (``--force``,
``--sparsity``). Code that catches an error can read ``exc.param`` rather than parse the text.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["ArtifactError", "ConfigError", "DataError", "ExportError", "FinliteError", "FinliteWarning",
           "GatesFailedError", "ScoreError", "TooFewAlertsError", "UnjudgedGateError", "UnsupportedModelError",
           "UnusablePlanError"]


class FinliteError(Exception):
    """Base class of every error finlite raises deliberately.

    Args:
        message: one paragraph: what is wrong, where, and how to fix it.
        param: the Python parameter the error is about (``"overwrite"``, ``"sparsity"``), when it
            is about one: the value to change. None when the fault lies in a file, a column or the
            machine rather than in an argument.
    """

    def __init__(self, message: str = "", *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class DataError(FinliteError, ValueError):
    """Raised when input data cannot be used.

    Raised when: the file is missing or empty, the target column is absent, the target has
    one class or values other than the declared positive/negative, a column is entirely
    missing, a numeric column holds text, or scoring data lacks the training schema's columns.
    """


class ScoreError(DataError):
    """Raised when a model returns a NaN or infinite score for a row: no decision is made from it.

    Fail closed: ``NaN >= cutoff`` is false, so a NaN score would silently decide "not flagged"
    (approve, let the payment pass). Every scoring path checks its scores and raises this
    instead, naming the row.
    """


class ConfigError(FinliteError, ValueError):
    """Raised when a parameter, a method config or a pruning plan is invalid.

    Raised when: a config field is out of range or of the wrong kind, a plan does not match
    the model it is applied to, or an option combination makes no sense.
    """


class UnsupportedModelError(ConfigError):
    """Raised when a method does not work on the kind of model it is given (weight pruning of a
    GRU, static int8 of an LSTM): the method is valid, the model is not one it takes.

    A recipe step that meets this on the teacher itself, because the distillation before it was
    rolled back, is skipped rather than failing the run (:func:`finlite.recipe.runner.run_recipe`).
    """


class UnusablePlanError(ConfigError):
    """Raised when a pruning plan would leave a model that scores every row alike: a layer without
    weights, or kept weights with no path from the inputs to the output
    (:meth:`finlite.methods.plan.PruningPlan.check_usable`). A search counts such a candidate as
    failed and goes on; a recipe or a ``--plan`` that asks for it is refused."""


class _GateRefusal(ConfigError):
    """A gate refused as it stands: the message is ``finding`` (what is wrong) then ``advice`` (what
    the run's maker can change), kept apart so that ``finlite reproduce``, whose user cannot take
    the advice, says the finding alone (it cut the message at the advice's first words)."""

    def __init__(self, finding: str, advice: str, *, param: str | None = "gates") -> None:
        super().__init__(f"{finding} {advice}", param=param)
        self.finding, self.advice = finding, advice

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its two parts where it crosses a process (a Ray search task raises it): the
        # default rebuilds from the message alone, which this __init__ does not take.
        return type(self), (self.finding, self.advice), {"param": self.param}


class TooFewAlertsError(_GateRefusal):
    """Raised when a gate on the alert overlap would be judged on fewer alerts than it needs
    (:func:`finlite.evaluate.operating.check_overlap_judged`): the overlap of a dozen alerts is
    chance. ``finlite reproduce`` of a run recorded before the rule says it cannot rerun it."""


class UnjudgedGateError(_GateRefusal):
    """Raised when a gate would judge nothing on the validation split: a recall gate's drop where the
    teacher catches none of the positives (:func:`finlite.recipe.runner.run_recipe`). ``finlite
    reproduce`` of a run recorded before the rule says it cannot rerun it."""


class ArtifactError(FinliteError):
    """Raised when an artifact directory cannot be trusted or read.

    Raised when: the directory or its manifest is missing, a file listed in the manifest is
    absent, or a file's sha256 differs from the manifest (it was altered after saving).
    """


class ExportError(FinliteError):
    """Raised when a model cannot be exported to ONNX, or the export does not match the model.

    Raised when: the model kind has no ONNX form (boosted-tree teachers are scored by their own
    library), or the parity check finds the exported model's probabilities or decisions differ
    from the model in memory beyond tolerance. ``problems`` lists every mismatch found, and
    ``parity`` holds the measurements (None when nothing was compared).
    """

    def __init__(self, message: str, problems: list[str] | None = None, parity: dict[str, Any] | None = None,
                 *, param: str | None = None, gates: list[str] | None = None) -> None:
        super().__init__(message, param=param)
        self.problems = problems or []
        self.parity = parity
        #: The gates the artifact failed on its test split, when that is why it was not exported.
        self.gates = gates or []


class GatesFailedError(FinliteError):
    """Raised when a check decided against going on: a student that failed its quality gates on
    the test split would be signed (a signature is what a deployment trusts), unless that is
    accepted (``accept_failed_gates``); or a scoring run went beyond its limits
    (:class:`finlite.runtime.batch.ScoreLimits`), so its decisions were not written.

    ``gates`` lists the failed checks' messages. The command line exits 1: a gate decided.
    """

    def __init__(self, message: str, gates: list[str], *, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.gates = list(gates)


class FinliteWarning(UserWarning):
    """A finding that does not stop a run: a student far below its teacher with no gate to stop
    it, one that decides nothing, one slower than its teacher. Issued with :func:`warnings.warn`,
    so a program can record, silence or escalate it (``warnings.simplefilter("error",
    FinliteWarning)``); the command line prints its text on stderr. It is also in the report
    (``report["warnings"]``) where it concerns the decisions.

    Every one is shown, not only the first of a given text (Python's default): a notebook that
    runs the same compress again must be told again. The filter is appended, so a program's own
    filters for it come first.
    """


warnings.filterwarnings("always", category=FinliteWarning, append=True)
