"""Reading, verifying and amending an artifact's manifest without torch.

Both :mod:`finlite.artifact` (which rebuilds the torch model) and :mod:`finlite.runtime`
(which never imports torch) open artifacts through :func:`read_verified`, so the two check
hashes the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finlite._util import dump_json, sha256_file
from finlite.errors import ArtifactError

__all__ = ["FORMAT", "MANIFEST", "amend_artifact", "manifest_digest", "read_verified"]

FORMAT = "finlite.artifact/1"
MANIFEST = "manifest.json"


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON without its own digest field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


def read_verified(path: str | Path, required: tuple[str, ...] = ()) -> tuple[Path, dict[str, Any]]:
    """The artifact folder and its manifest, after checking the sha256 of every listed file.

    Raises:
        ArtifactError: the folder or manifest is missing or unreadable, a ``required`` file is
            not listed, a listed file is missing, or any file (manifest included) was altered.
    """
    root = Path(path)
    if not root.is_dir():
        raise ArtifactError(f"Artifact {str(root)!r} is not a directory; pass the folder written by "
                            "'finlite train' or 'finlite compress'.")
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"Artifact {str(root)!r} has no {MANIFEST}; it is incomplete or not a finlite artifact.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{str(manifest_path)!r} is not valid JSON ({exc}); the artifact is damaged.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{str(manifest_path)!r} is not a {FORMAT} manifest.")
    if manifest.get("manifest_sha256") != manifest_digest(manifest):
        raise ArtifactError(f"{str(manifest_path)!r} was modified after the artifact was saved (its digest does "
                            "not match); re-create the artifact instead of editing it.")
    files = manifest.get("files", {})
    for name in required:
        if name not in files:
            raise ArtifactError(f"The manifest of {str(root)!r} does not list {name}; the artifact is incomplete.")
    for name, expected in sorted(files.items()):
        file = root / name
        if not file.is_file():
            raise ArtifactError(f"Artifact file {str(file)!r} listed in the manifest is missing.")
        actual = sha256_file(file)
        if actual != expected:
            raise ArtifactError(f"Artifact file {str(file)!r} has sha256 {actual[:16]}…, but the manifest "
                                f"records {expected[:16]}…; it was altered after saving. Refusing to load it.")
    return root, manifest


def swap_in(tmp: Path, out: Path) -> None:
    """Move the finished folder ``tmp`` to ``out``, replacing any folder there, by renames only."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def amend_artifact(path: str | Path, files: Mapping[str, bytes], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Add (or replace) files and top-level manifest fields of a verified artifact, atomically.

    The folder is copied to a temporary sibling, amended there, re-hashed and renamed into
    place, so a failure leaves the artifact as it was. Returns the new manifest.
    """
    root, manifest = read_verified(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        staged = tmp / root.name
        shutil.copytree(root, staged)
        for name, data in files.items():
            (staged / name).write_bytes(data)
        manifest = {**manifest, **fields}
        manifest["files"] = {**manifest.get("files", {}), **{name: sha256_file(staged / name) for name in files}}
        manifest["manifest_sha256"] = manifest_digest(manifest)
        (staged / MANIFEST).write_text(dump_json(manifest), encoding="utf-8")
        swap_in(staged, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest
