"""The recipes that ship with finlite (``smallest``, ``fastest``, ``balanced``)."""

from __future__ import annotations

from pathlib import Path

from finlite._util import closest
from finlite.errors import ConfigError
from finlite.recipe.spec import Recipe


def presets() -> list[str]:
    """Names of the recipes that ship with finlite."""
    root = Path(__file__).parent.parent / "recipes"
    return sorted(p.stem for p in root.glob("*.yaml"))


def load_preset(name: str) -> Recipe:
    """A recipe shipped with finlite: "smallest", "fastest" or "balanced"."""
    names = presets()
    if name not in names:
        raise ConfigError(f"Unknown preset {name!r}.{closest(name, names)} Presets: {', '.join(names)}.")
    path = Path(__file__).parent.parent / "recipes" / f"{name}.yaml"
    return Recipe.from_yaml(path.read_text(encoding="utf-8"), f"preset {name!r} ({path.name})")
