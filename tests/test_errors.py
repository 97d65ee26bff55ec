"""Errors in the caller's language: the parameter an error is about travels as data (``exc.param``),
library messages name Python parameters (``overwrite=True``), and "the output exists" has one shape."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from finlite import _limits, _paths
from finlite._util import check_fraction, param_error
from finlite.errors import ArtifactError, ConfigError, DataError, ExportError, FinliteError, ScoreError


def test_every_error_carries_an_optional_param() -> None:
    assert ConfigError("plain").param is None
    exc = ConfigError("The 'sparsity' parameter of X must be ...", param="sparsity")
    assert exc.param == "sparsity" and str(exc) == "The 'sparsity' parameter of X must be ..."
    for cls in (DataError, ScoreError, ArtifactError):
        assert cls("m", param="overwrite").param == "overwrite"
    export = ExportError("mismatch", ["row 3"], {"flips": 1}, param="tolerance")
    assert (export.param, export.problems, export.parity) == ("tolerance", ["row 3"], {"flips": 1})
    assert isinstance(ConfigError("x"), (FinliteError, ValueError))


def test_param_survives_pickling() -> None:
    # Errors cross process boundaries (Ray tasks, worker pools): the parameter must come along.
    again = pickle.loads(pickle.dumps(ConfigError("bad", param="alpha")))
    assert isinstance(again, ConfigError) and again.param == "alpha" and str(again) == "bad"


def test_param_error_names_the_parameter_and_carries_it() -> None:
    exc = param_error("MagnitudePruning", "sparsity", "a number in [0, 1)", 1.5)
    assert exc.param == "sparsity"
    assert str(exc) == "The 'sparsity' parameter of MagnitudePruning must be a number in [0, 1). Got 1.5 instead."
    # An item of a mapping parameter is reported by the parameter that holds it.
    with pytest.raises(ConfigError, match=r"layer_sparsity\['fc1'\]\" parameter of MagnitudePruning") as info:
        check_fraction("MagnitudePruning", "layer_sparsity['fc1']", 2.0)
    assert info.value.param == "layer_sparsity"
    with pytest.raises(ConfigError, match=r"Got 1\.5 instead\.$"):  # no percentage read into 1.5
        check_fraction("train", "cutoff", 1.5)
    # Nor into a weight (alpha=2 mixes two losses), nor where the share would be out of range too.
    with pytest.raises(ConfigError, match=r"Got 2 instead\.$"):
        check_fraction("Distillation", "alpha", 2)
    with pytest.raises(ConfigError, match=r"Got 100 instead\.$"):
        check_fraction("train", "flag_rate", 100, low_open=True, high_open=True)
    # A whole percentage given for a share is told how to write it.
    with pytest.raises(ConfigError, match=r"Got 30 instead\. It is a share, not a percentage: for 30 %, give 0\.3\.$"):
        check_fraction("train", "flag_rate", 30)


def test_limits_name_a_parameter_or_a_flag() -> None:
    with pytest.raises(ConfigError, match=r"^The 'rows' parameter must be a positive whole number; got 0\.") as info:
        _limits.check_count(0, "rows")
    assert info.value.param == "rows"
    with pytest.raises(ConfigError, match=r"^--chunk-rows must be a positive whole number; got 0\.") as info:
        _limits.check_count(0, "--chunk-rows")
    assert info.value.param is None  # a check only the command line makes names its own flag
    with pytest.raises(ConfigError, match=r"^The 'seed' parameter must be a whole number from 0") as info:
        _limits.check_seed(-1)
    assert info.value.param == "seed"
    with pytest.raises(ConfigError, match=r"^The 'default_rate' parameter must be a finite number ≥ 0\.001") as info:
        _limits.check_finite(float("nan"), "default_rate", low=0.001)
    assert info.value.param == "default_rate"


def test_output_exists_has_one_shape(tmp_path: Path) -> None:
    folder = _paths.output_exists(tmp_path / "runs", error=ArtifactError)
    assert isinstance(folder, ArtifactError) and folder.param == "overwrite"
    assert str(folder) == f"out={str(tmp_path / 'runs')!r} already exists; choose another path or pass overwrite=True " \
                          "to replace it."
    file = _paths.output_exists(tmp_path / "s.csv", option="-o", error=DataError)
    assert isinstance(file, DataError) and str(file).startswith(f"-o {str(tmp_path / 's.csv')!r} already exists")


def test_every_writer_refuses_an_existing_output_through_the_helper(tmp_path: Path) -> None:
    folder = tmp_path / "art"
    folder.mkdir()
    with pytest.raises(ArtifactError, match="already exists; choose another path or pass overwrite=True") as info:
        _paths.check_replaceable(folder, overwrite=False)
    assert info.value.param == "overwrite"
    with pytest.raises(ArtifactError, match=r"^out=.* already exists") as info:
        _paths.check_output_dir(folder, overwrite=False)
    assert info.value.param == "overwrite"
    file = tmp_path / "scores.csv"
    file.write_text("keep")
    with pytest.raises(DataError, match="already exists; choose another path or pass overwrite=True") as info:
        _paths.check_replaceable_file(file, overwrite=False)
    assert info.value.param == "overwrite" and file.read_text() == "keep"


def test_refusals_name_the_output_parameter(tmp_path: Path) -> None:
    data = tmp_path / "loans.csv"
    data.write_text("a\n1\n")
    with pytest.raises(ConfigError, match=r"^out=.* contains the data file .*\(with or without overwrite=True\)") as info:
        _paths.check_not_input(tmp_path, {"data file": data})
    assert info.value.param == "out"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ArtifactError, match="overwrite=True replaces only artifact folders") as info:
        _paths.check_replaceable(tmp_path / "mine", overwrite=True)
    assert info.value.param == "out"


def test_a_mistyped_name_gets_the_one_choice_it_begins() -> None:
    """--target default on Taiwan's book named no column, where "default payment next month" is
    the only one that begins so (a walk-through, 2026-12-05); a near spelling still comes first,
    and a start several names share suggests none."""
    from finlite._util import closest

    assert closest("default", ["ID", "LIMIT_BAL", "default payment next month"]) == \
        " Did you mean 'default payment next month'?"
    assert closest("creditabilty", ["creditability", "credit_amount"]) == " Did you mean 'creditability'?"
    assert closest("pay", ["PAY_0", "PAY_2"]) == ""
    assert closest("", ["a"]) == ""


def test_a_refused_gate_keeps_its_finding_apart_from_its_advice_and_crosses_processes() -> None:
    """reproduce says the finding alone (it cut the message at the advice's first words); a Ray
    search task raises these, so they must unpickle from their two parts."""
    import pickle

    from finlite.errors import ConfigError, TooFewAlertsError, UnjudgedGateError

    for cls in (TooFewAlertsError, UnjudgedGateError):
        error = cls("The gate judges nothing.", "Set another cut-off.")
        assert str(error) == "The gate judges nothing. Set another cut-off." and error.finding == "The gate judges nothing."
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is cls and isinstance(again, ConfigError)
        assert (str(again), again.finding, again.param) == (str(error), error.finding, "gates")
