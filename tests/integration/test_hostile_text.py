"""A book whose column names and values carry an escape sequence, a bell and a right-to-left
override goes through train, compress, evaluate and report: nothing any command prints, and no
page or card it writes for people, holds one of those characters raw (they are written out as
``\\xNN`` / ``\\uNNNN``), and the files a program reads (JSON) hold them escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from finlite.cli import app

pytestmark = pytest.mark.slow

#: What a terminal acts on (escape, bell, a C1 CSI) or what shows a value reversed.
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
REGION = "reg\x1b[2Jion"
VALUES = ("A\x1b]0;pwned\x07", "B\u202eX", "C\x9b")


def _book(path: Path, n: int = 600) -> None:
    rng = np.random.default_rng(0)
    region = rng.choice(VALUES, n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    logit = 1.2 * x1 - 0.8 * x2 + 0.7 * (region == VALUES[2]) - 1.0
    bad = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    pd.DataFrame({"x1": x1, "x2\u202e": x2, REGION: region, "bad": bad}).to_csv(path, index=False)


def _raw(text: str) -> list[str]:
    return [f"U+{ord(ch):04X}" for ch in RAW if ch in text]


def test_hostile_names_and_values_never_reach_a_terminal_or_a_page_raw(tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    _book(book)
    runner = CliRunner()
    runs = [
        ["train", str(book), "--target", "bad", "--out", str(tmp_path / "t"), "--epochs", "3", "--quiet"],
        ["compress", str(tmp_path / "t"), str(book), "--out", str(tmp_path / "s"), "--quiet"],
        ["evaluate", str(tmp_path / "s"), str(book), "--baseline", str(tmp_path / "t")],
        ["report", str(tmp_path / "s"), str(book), "--baseline", str(tmp_path / "t"), "--segments", REGION,
         "--out", str(tmp_path / "r")],
    ]
    for args in runs:
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args[0], result.output)  # 1: a FAIL section decided
        assert not _raw(result.output), (args[0], _raw(result.output), result.output)
    # The region's values are in the report (as segments), written out.
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "A\\x1b]0;pwned\\x07" in html and "B\\u202eX" in html
    for folder in ("t", "s", "r"):
        for path in sorted((tmp_path / folder).rglob("*")):
            if path.suffix in (".html", ".md", ".json", ".yaml", ".txt"):
                text = path.read_text(encoding="utf-8")
                assert not _raw(text), (path.name, _raw(text))
    # A program reading report.json gets the data's values back exactly (JSON escapes them).
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    (segments,) = [s for s in report["sections"] if s["id"] == "segments"]
    assert {d["segment"] for d in segments["metrics"]["segments"]} >= set(VALUES)
