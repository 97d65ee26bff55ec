"""The `finlite` script's entry point (finlite._console): one BLAS thread for score and serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import finlite.cli
from finlite import _console

_BLAS_THREADS = """
import json, sys
from finlite import _console
sys.argv = ["finlite", *sys.argv[1:]]
try:
    _console.main()
except SystemExit:
    pass
import numpy  # loaded here if the command did not load it: the variable, if set, is still in force
from threadpoolctl import threadpool_info
print(json.dumps([i["num_threads"] for i in threadpool_info() if i.get("internal_api") == "openblas"]))
"""


def _blas_threads(*args: str, env: dict[str, str] | None = None) -> list[int]:
    done = subprocess.run([sys.executable, "-c", _BLAS_THREADS, *args], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts one thread anyway")
def test_score_runs_with_one_blas_thread_and_other_commands_with_the_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    threads = _blas_threads("score", "--help", env=env)
    assert threads and set(threads) == {1}  # numpy loaded after the variable was set
    others = _blas_threads("train", "--help", env=env)
    assert others and max(others) > 1


def test_a_users_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    monkeypatch.setattr(finlite.cli, "main", lambda: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setattr(sys, "argv", ["finlite", "serve", "runs/x"])
    _console.main()
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setattr(sys, "argv", ["finlite", "score", "a", "b"])
    _console.main()
    monkeypatch.setattr(sys, "argv", ["finlite", "--version"])
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    _console.main()
    assert seen == ["3", "1", None]
    assert {"score", "serve"} == _console.ONE_BLAS_THREAD


@pytest.mark.parametrize("value", ["abc", "1.5", "-5"])
def test_a_malformed_source_date_epoch_is_refused_before_numpy_loads(value: str, tmp_path: Path) -> None:
    """numpy's f2py (imported by scipy) reads SOURCE_DATE_EPOCH with int(): "abc" stopped `train`
    with numpy's traceback and exit 1 (a review, 2026-12-06). The command names it, exit 2."""
    source = tmp_path / "p.csv"
    source.write_text("a,y\n1,0\n2,1\n")
    env = {**os.environ, "SOURCE_DATE_EPOCH": value}
    done = subprocess.run([sys.executable, "-c", "import sys; from finlite._console import main; sys.exit(main())",
                           "train", str(source), "--target", "y", "--out", str(tmp_path / "t")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"error: SOURCE_DATE_EPOCH is {value!r}; it must be a whole, non-negative number of seconds" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "t").exists()


@pytest.mark.parametrize("value", ["abc", "", "  "])
def test_a_command_that_writes_no_stamp_runs_whatever_source_date_epoch_holds(value: str) -> None:
    """inspect, evaluate, score ... never read it: a bad or blank value does not stop them, and a
    blank one (unset, for finlite) does not reach numpy's int() either (a review, 2026-12-06)."""
    from finlite._console import STAMPED

    assert {"train", "compress", "export"} <= STAMPED and "inspect" not in STAMPED
    env = {**os.environ, "SOURCE_DATE_EPOCH": value}
    probe = ("import sys; sys.argv = ['finlite', *sys.argv[1:]]\nfrom finlite import _console\ntry:\n"
             "    _console.main()\nexcept SystemExit as e:\n    code = e.code\nimport os, scipy.stats\n"
             "print('code', code, 'env', repr(os.environ.get('SOURCE_DATE_EPOCH')))")
    done = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("code 0 env None"), (done.stdout, done.stderr)


def test_python_dash_m_finlite_runs_the_command() -> None:
    """``python -m finlite`` (no __main__ module: "No module named finlite.__main__", a review)."""
    shown = subprocess.run([sys.executable, "-m", "finlite", "--help"], capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "Usage: python -m finlite" in shown.stdout and "compress" in shown.stdout
    bad = subprocess.run([sys.executable, "-m", "finlite", "evaluate"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "Missing argument 'artifact'" in bad.stderr
