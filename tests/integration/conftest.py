"""Fixtures of the cross-cutting tests: the artifacts `make demo` writes, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from finlite.cli import app


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`finlite demo`'s folder (teacher/ and student/, the student's report included) and its output.

    Shared by the German-credit promises and the browser test of the demo's report; read only."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out, result.output
