"""The public API stays curated and the version stays in step with pyproject.toml."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

import finlite


def test_all_is_sorted_and_complete() -> None:
    assert finlite.__all__ == sorted(finlite.__all__)
    # Every public non-module name is exported; submodules are reachable but not part of __all__.
    public = {name for name in dir(finlite)
              if not name.startswith("_") and not inspect.ismodule(getattr(finlite, name))}
    assert public <= set(finlite.__all__)
    for name in finlite.__all__:
        assert getattr(finlite, name) is not None


def test_version_matches_pyproject() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert finlite.__version__ == pyproject["project"]["version"]


def test_errors_subclass_standard_ones() -> None:
    assert issubclass(finlite.DataError, ValueError) and issubclass(finlite.DataError, finlite.FinliteError)
    assert issubclass(finlite.ConfigError, ValueError)
    assert issubclass(finlite.ArtifactError, finlite.FinliteError)
