"""Schema inference on international data: column names and category values written in two
Unicode forms (composed "É" and "E" + a combining accent, as macOS and Windows tools write them),
from an international walk-through, 2026-12-07."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pytest

from finlite.data import infer_schema
from finlite.errors import DataError


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"Épargne": rng.choice(["épargne_0", "épargne_1", "keine"], n),
                         "Betrag": rng.integers(100, 5000, n), "Ausfall": rng.choice(["gut", "schlecht"], n)})


@pytest.mark.parametrize("twin", [unicodedata.normalize("NFD", "Épargne"), "épargne", "Épargne ", "Épargne\u00a0"])
def test_feature_columns_named_alike_are_refused(twin: str) -> None:
    """Two feature columns whose names differ by Unicode form, case or a trailing space trained as
    two features that print alike in the reasons, the report and the card."""
    frame = _frame().assign(**{twin: lambda f: f["Épargne"]})
    with pytest.raises(DataError, match=r"Columns 'Épargne' and .+ have one name but for surrounding spaces, letter "
                                        r"case or Unicode form.*Rename one, drop it \(--drop .+\), or name both as "
                                        r"features"):
        infer_schema(frame, "Ausfall")
    # Named as features by the caller (an old artifact's schema, reproduce): kept.
    schema = infer_schema(frame, "Ausfall", categorical=["Épargne", twin])
    assert {"Épargne", twin} <= set(schema.categorical)


def test_a_category_written_in_two_unicode_forms_is_said() -> None:
    """A macOS export appended to a Windows one: "épargne_0" composed and decomposed became two
    categories that print alike, with no word."""
    frame = _frame()
    mixed = frame.copy()
    half = mixed.index[::2]
    mixed.loc[half, "Épargne"] = mixed.loc[half, "Épargne"].map(lambda v: unicodedata.normalize("NFD", v))
    [note] = [n for n in infer_schema(mixed, "Ausfall").notes if "two Unicode forms" in n]
    assert note.startswith("column 'Épargne' holds values written in two Unicode forms (such as ")
    assert "each learned from its own rows. Write the file's text in one form (NFC: unicodedata.normalize('NFC', text))" \
        in note
    assert not [n for n in infer_schema(frame, "Ausfall").notes if "Unicode forms" in n]  # one form: nothing said
    decomposed = frame.assign(Épargne=frame["Épargne"].map(lambda v: unicodedata.normalize("NFD", v)))
    assert not [n for n in infer_schema(decomposed, "Ausfall").notes if "Unicode forms" in n]


def test_a_hidden_character_in_either_twin_is_named() -> None:
    frame = _frame().assign(**{"Betrag\u200b": lambda f: f["Betrag"] + 1})
    said = "Columns 'Betrag' and 'Betrag\\u200b' (its name holds U+200B ZERO WIDTH SPACE"
    with pytest.raises(DataError, match=re.escape(said)):
        infer_schema(frame, "Ausfall")
