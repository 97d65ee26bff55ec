"""The README's Python examples run as written.

Convention (for whoever edits README.md):

- Every fenced block opened with ```python (or ```py) is run, in the order of the file, in one
  temporary working directory, so a block can use the files an earlier block wrote (for example
  ``runs/teacher``). Each block gets a fresh namespace: import what you use.
- The working directory holds ``loans.csv`` (a small loan table, label column ``defaulted`` with
  values yes/no) and ``german_credit.csv`` (the bundled German credit data, label ``creditability``);
  ``finlite.datasets.path("german_credit")`` works too. The only predefined name is
  ``new_applications``: a few rows of ``loans.csv`` without the label, as a pandas DataFrame.
- A block that cannot run here (it needs a server, a cluster or the user's own files) opts out
  with the first line ``# readme: skip - <why>``. At most ``MAX_SKIPPED`` blocks may opt out, and
  each must say why.

A failure names the README line of the block and of the failing statement.
"""

from __future__ import annotations

import os
import re
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

import pytest

from finlite import datasets
from tests.conftest import make_loans

README = Path(__file__).resolve().parents[1] / "README.md"
MAX_SKIPPED = 2
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^`\n]*)$")
_SKIP = re.compile(r"^#\s*readme:\s*skip\b(?P<reason>.*)$")
_PYTHON = {"python", "py", "python3"}


@dataclass(frozen=True)
class Block:
    """One ```python block: its first code line's number in README.md and its dedented code."""

    line: int
    code: str

    @property
    def skip_reason(self) -> str | None:
        """The text after ``# readme: skip`` on the first line, or None when the block runs."""
        first = self.code.lstrip("\n").splitlines()[0] if self.code.strip() else ""
        match = _SKIP.match(first.strip())
        return None if match is None else match.group("reason").strip(" -—:")


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the line number of each block's first code line."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = opening.group("indent")
        language = opening.group("info").strip().split(" ")[0].lower()
        end = i + 1
        while end < len(lines) and not (lines[end].startswith(indent) and lines[end].strip() == "```"):
            end += 1
        if end == len(lines):
            raise AssertionError(f"README.md line {i + 1}: the code fence opened here is never closed.")
        if language in _PYTHON:
            body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:end]]
            blocks.append(Block(i + 2, "\n".join(body) + "\n"))
        i = end + 1
    return blocks


def _compiled(block: Block) -> CodeType:
    # Blank lines in front make the traceback's line numbers README.md's own.
    # dont_inherit: this module's `from __future__ import annotations` must not leak into the
    # README's code, which runs as a reader would run it.
    return compile("\n" * (block.line - 1) + block.code, str(README), "exec", dont_inherit=True)


def test_python_blocks_are_found_in_indented_and_plain_fences() -> None:
    text = "intro\n```python\nx = 1\n```\n- item\n\n  ```py\n  y = 2\n  ```\n```sh\nls\n```\n"
    blocks = python_blocks(text)
    assert [(b.line, b.code) for b in blocks] == [(3, "x = 1\n"), (8, "y = 2\n")]
    assert Block(1, "# readme: skip - needs a Ray cluster\nimport ray\n").skip_reason == "needs a Ray cluster"
    assert Block(1, "import finlite\n").skip_reason is None
    with pytest.raises(AssertionError, match="line 1: the code fence opened here is never closed"):
        python_blocks("```python\nx = 1\n")


def test_readme_blocks_compile_and_opt_outs_are_few_and_explained() -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block; the examples test would check nothing."
    for block in blocks:
        try:
            _compiled(block)
        except SyntaxError as exc:
            pytest.fail(f"README.md line {exc.lineno}: the ```python block starting at line {block.line} is not "
                        f"valid Python ({exc.msg}). Write runnable code (no '...' placeholders) or opt out with "
                        "'# readme: skip - <why>' as its first line.")
    skipped = [b for b in blocks if b.skip_reason is not None]
    unexplained = [b.line for b in skipped if not b.skip_reason]
    assert not unexplained, f"README.md blocks at lines {unexplained} opt out without saying why ('# readme: skip - <why>')."
    assert len(skipped) <= MAX_SKIPPED, (
        f"{len(skipped)} README blocks opt out of being run (lines {[b.line for b in skipped]}); at most "
        f"{MAX_SKIPPED} may. Make the others runnable against loans.csv / german_credit.csv.")


@pytest.mark.slow  # the examples train and compress real models
def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loans = make_loans(400)
    loans.to_csv(tmp_path / "loans.csv", index=False)
    shutil.copyfile(datasets.path("german_credit"), tmp_path / "german_credit.csv")
    monkeypatch.chdir(tmp_path)
    # An example may register a method (README "Adding a method"): the registries go back to what
    # they were after the test, so the rest of the suite sees finlite's own methods only.
    from finlite.methods import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_HANDLERS", dict(registry._HANDLERS))
    ran = 0
    for block in python_blocks(README.read_text(encoding="utf-8")):
        if block.skip_reason is not None:
            continue
        namespace = {"__name__": "__readme__", "new_applications": loans.drop(columns="defaulted").head(5)}
        try:
            exec(_compiled(block), namespace)
        except Exception as exc:
            # The example's own traceback follows (chained), with README.md's line numbers.
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(README)]
            where = exc.lineno if isinstance(exc, SyntaxError) else frames[-1].lineno if frames else block.line
            raise AssertionError(f"README.md line {where} (in the ```python block starting at line {block.line}) "
                                 f"raised {type(exc).__name__}: {exc}") from exc
        ran += 1
    assert ran >= 1
    assert Path(os.getcwd()) == tmp_path  # no example changed directory behind the next one's back
