"""The package version (kept in step with pyproject.toml by a test), and a digest of the code."""

from __future__ import annotations

import functools

__version__ = "0.2.0.dev0"


#: Package files besides the Python source that shape what finlite writes: the presets' recipes
#: and the report's template (a changed preset or template changed the evidence, the digest not).
_SHAPING = ("*.py", "*.yaml", "*.j2")


@functools.lru_cache(maxsize=1)
def code_sha256() -> str | None:
    """The sha256 of finlite's own source (every ``.py`` file of the package, with the presets'
    ``.yaml`` recipes and the report's ``.j2`` template, by relative path and content, in path
    order): what tells two builds apart where the version does not.
    A development version keeps one version string across commits whose evidence rules differ,
    so ``finlite reproduce`` judges a report's evidence only against the same code (a review,
    2026-12-06: an honest artifact of an earlier commit was "NOT reproduced")."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    hashed = 0
    for path in sorted({p for pattern in _SHAPING for p in root.rglob(pattern)}):
        if "__pycache__" in path.parts:
            continue
        name = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
        hashed += path.suffix == ".py"
    # No source to hash (an install of compiled files only, or from a zip): no digest, so nothing
    # is judged against it (an empty digest would match every other such build).
    return digest.hexdigest() if hashed else None
