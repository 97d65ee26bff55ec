"""A lender's reason codes: its own table from the model's fields to the codes and statements an
adverse-action notice prints (ECOA / Regulation B's "statement of specific reasons").

A notice does not say ``duration_in_month``; it says "R05: Length of the requested term". Banks
keep that table themselves (field → code → wording, owned by compliance), so finlite reads it
rather than inventing wording. The file is a CSV with the header ``field,code,text``, one row per
field the model gives reasons for (:attr:`Predictor.reason_fields
<finlite.runtime.predictor.Predictor.reason_fields>`). Several fields may share a code (credit
amount and duration under one "amount or term" statement); a code then counts once per
applicant, with the sum of its fields' contributions (baseline Shapley values add up over a
group of fields), so codes are ranked as the notice lists them.

The file is untrusted input and is checked before anything is scored: a regular file (no link,
pipe or device) of at most :data:`MAX_BYTES`, UTF-8 (a spreadsheet's byte-order mark is
accepted), exactly the three columns, every reason field mapped once and no field the model does
not have (a typo would silently drop a reason), a code and a statement on every row, one
statement per code. numpy and the standard library only (it runs in the torch-free runtime).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from finlite._keys import CSV_MISSING
from finlite._paths import FileTooLarge, read_small_file
from finlite._protected import likely_other_party, likely_protected, likely_vintage, split_band_edges
from finlite._util import closest, spreadsheet_safe
from finlite.errors import ConfigError

__all__ = ["COLUMNS", "MAX_BYTES", "MAX_CODE_CHARS", "MAX_TEXT_CHARS", "ReasonCodes", "codes_file", "declared_protected",
           "protected_fields", "protected_values",
           "reason_columns", "reasons_setup"]

#: The header a reason-codes file must have, in this order.
COLUMNS = ("field", "code", "text")
#: Largest reason-codes file read (a table of a few hundred fields is a few kilobytes).
MAX_BYTES = 1 << 20
#: Longest code (codes are short identifiers such as "R05" or "AA-12").
MAX_CODE_CHARS = 32
#: Longest statement (a notice prints one line per reason).
MAX_TEXT_CHARS = 500
#: Codes that read as missing in any case (besides CSV_MISSING's exact spellings).
_MISSING_WORDS = frozenset({"na", "n/a", "nan", "null", "none", "nil", "#n/a"})


@dataclass(frozen=True)
class ReasonCodes:
    """A field → code table for one model's reason fields (read with :meth:`read`).

    ``fields`` are the model's reason fields in its order; ``code_of`` maps each to its code;
    ``text_of`` each code to its statement; ``codes`` lists the codes in order of first use;
    ``source`` names the file and ``sha256`` its bytes (recorded with a run's provenance).
    """

    fields: tuple[str, ...]
    code_of: dict[str, str]
    text_of: dict[str, str]
    codes: tuple[str, ...]
    source: str
    sha256: str

    @classmethod
    def read(cls, path: str | os.PathLike[str], fields: Sequence[str]) -> ReasonCodes:
        """Read and check the reason-codes CSV at ``path`` for a model whose reason fields are ``fields``.

        Raises:
            ConfigError: the file is missing, a link, not a regular file, too large or not UTF-8;
                its header is not ``field,code,text``; a row misses a value or has too many; a
                field is unknown to the model, listed twice or missing; a code is too long, or
                given two different statements.
        """
        where = f"The reason-codes file {str(path)!r}"
        if os.path.islink(path):
            raise ConfigError(f"{where} is a symbolic link; pass the file itself (links are not followed).",
                              param="reason_codes")
        try:
            raw = read_small_file(path, MAX_BYTES)
        except FileTooLarge as exc:
            raise ConfigError(f"{where} is {exc.size:,} bytes or more; a reason-codes table may be at most "
                              f"{MAX_BYTES:,} bytes (one short row per field).", param="reason_codes") from None
        except OSError as exc:
            raise ConfigError(f"Cannot read the reason-codes file {str(path)!r} ({exc.strerror or exc}); check the "
                              "path.", param="reason_codes") from None
        try:
            text = raw.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); save it as "
                              "CSV UTF-8 with the columns field,code,text.", param="reason_codes") from None
        return cls.parse(text, fields, source=str(path), sha256=hashlib.sha256(raw).hexdigest())

    @classmethod
    def parse(cls, text: str, fields: Sequence[str], *, source: str = "the reason codes",
              sha256: str | None = None) -> ReasonCodes:
        """:meth:`read` for text already in memory (``source`` names it in messages)."""
        where = f"The reason-codes file {source!r}"
        reader = csv.reader(io.StringIO(text, newline=""))
        rows: list[tuple[int, list[str]]] = []  # (the file line a row starts on, its cells)
        line = 1
        try:
            for row in reader:
                # Empty cells past the third (a spreadsheet's ",,") are no value; a blank row is skipped.
                while len(row) > len(COLUMNS) and not row[-1].strip():
                    row.pop()
                if any(cell.strip() for cell in row):
                    rows.append((line, row))
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ConfigError(f"{where} is not valid CSV near line {reader.line_num} ({exc}).",
                              param="reason_codes") from None
        if not rows:
            raise ConfigError(f"{where} is empty; give a header field,code,text and one row per field the model "
                              f"gives reasons for ({', '.join(fields)}).", param="reason_codes")
        header = [cell.strip().lower() for cell in rows[0][1]]
        if tuple(header) != COLUMNS:
            raise ConfigError(f"{where} has the header {','.join(rows[0][1])!r}; it must be exactly "
                              f"{','.join(COLUMNS)!r} (the model's field, the lender's code, the statement a notice "
                              "prints).", param="reason_codes")
        known = list(fields)
        code_of: dict[str, str] = {}
        text_of: dict[str, str] = {}
        for line, row in rows[1:]:
            if len(row) != len(COLUMNS):
                raise ConfigError(f"{where}, line {line}: {len(row)} value(s); each row has a field, a code and a "
                                  "statement (quote a statement that holds a comma).", param="reason_codes")
            field, code, statement = (cell.strip() for cell in row)
            if field not in known:
                raise ConfigError(f"{where}, line {line}: the model has no field {field!r}.{closest(field, known)} "
                                  f"Its reason fields are: {', '.join(known)}.", param="reason_codes")
            if field in code_of:
                raise ConfigError(f"{where}, line {line}: the field {field!r} is listed again (first with the code "
                                  f"{code_of[field]!r}); give each field one code.", param="reason_codes")
            if not code or not statement:
                what = "code" if not code else "statement"
                raise ConfigError(f"{where}, line {line}: the field {field!r} has no {what}; a notice prints both.",
                                  param="reason_codes")
            if code in CSV_MISSING or code.lower() in _MISSING_WORDS:
                raise ConfigError(f"{where}, line {line}: the code {code!r} of {field!r} reads as a missing value in a "
                                  "CSV (score writes codes into CSV files, and pandas or a spreadsheet would read it "
                                  "back as empty); choose another code.", param="reason_codes")
            if len(code) > MAX_CODE_CHARS or len(statement) > MAX_TEXT_CHARS:
                raise ConfigError(f"{where}, line {line}: a code is at most {MAX_CODE_CHARS} characters and a "
                                  f"statement at most {MAX_TEXT_CHARS}; the field {field!r} has "
                                  f"{len(code)} and {len(statement)}.", param="reason_codes")
            formula = next((t for t in (code, statement) if spreadsheet_safe(t) != t), None)
            if formula is not None:
                # score writes codes and statements into CSV files a spreadsheet opens: "=1+1" ran as a
                # formula (a fair-lending walk-through, 2026-12-07); flips.csv's cells are guarded so.
                raise ConfigError(f"{where}, line {line}: the code or statement of {field!r} starts with "
                                  f"{formula[:1]!r}, which a spreadsheet opening score's CSV output runs as a "
                                  "formula; start it with a letter or digit.", param="reason_codes")
            if any(not ch.isprintable() for ch in code + statement):
                raise ConfigError(f"{where}, line {line}: the code or statement of {field!r} holds a control "
                                  "character (a line break, a tab); a notice prints one line per reason.",
                                  param="reason_codes")
            if text_of.setdefault(code, statement) != statement:
                raise ConfigError(f"{where}, line {line}: the code {code!r} has two statements ({text_of[code]!r} "
                                  f"and {statement!r}); one code prints one statement.", param="reason_codes")
            code_of[field] = code
        missing = [f for f in known if f not in code_of]
        if missing:
            raise ConfigError(f"{where} gives no code for {len(missing)} of the model's reason fields: "
                              f"{', '.join(missing)}. Map every field (several may share a code): a reason without "
                              "a code could not be printed on a notice.", param="reason_codes")
        codes = tuple(dict.fromkeys(code_of[f] for f in known))
        digest = sha256 if sha256 is not None else hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(fields=tuple(known), code_of=code_of, text_of=text_of, codes=codes, source=source, sha256=digest)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], fields: Sequence[str]) -> ReasonCodes:
        """The table :meth:`to_dict` recorded (e.g. in a Parquet output's ``finlite.provenance``),
        for a model with these reason ``fields``: the codes of an output read back to their wording.

        Raises:
            ConfigError: the record does not map exactly these fields.
        """
        try:
            code_of = {str(f): str(c) for c, entry in data["codes"].items() for f in entry["fields"]}
            text_of = {str(c): str(entry["text"]) for c, entry in data["codes"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"The reason-codes record is malformed ({exc!r}); read the table again.",
                              param="reason_codes") from None
        if sorted(code_of) != sorted(fields):
            raise ConfigError("The reason-codes record does not map this model's reason fields; read the table "
                              "for this model.", param="reason_codes")
        known = tuple(fields)
        return cls(fields=known, code_of=code_of, text_of=text_of,
                   codes=tuple(dict.fromkeys(code_of[f] for f in known)), source=str(data.get("source", "")),
                   sha256=str(data.get("sha256", "")))

    def check_fields(self, fields: Sequence[str], where: str) -> None:
        """Refuse a table read for another model (other reason fields).

        Raises:
            ConfigError: ``fields`` differ from the table's.
        """
        if tuple(fields) != self.fields:
            raise ConfigError(f"The reason codes from {self.source!r} were read for the fields "
                              f"{', '.join(self.fields)}; {where} gives reasons for {', '.join(fields)}. Read the "
                              "table for this model.", param="reason_codes")

    @cached_property
    def members(self) -> dict[str, list[str]]:
        """Each code's fields, in the model's order (computed once: a declined request reads it)."""
        out: dict[str, list[str]] = {c: [] for c in self.codes}
        for f in self.fields:
            out[self.code_of[f]].append(f)
        return out

    def fields_of(self, code: str) -> list[str]:
        """The fields a code stands for, in the model's order."""
        return list(self.members[code])

    @cached_property
    def grouping(self) -> np.ndarray:
        """``[fields, codes]`` 0/1 matrix: contributions @ grouping sums each code's fields."""
        out = np.zeros((len(self.fields), len(self.codes)), dtype=np.float64)
        index = {c: j for j, c in enumerate(self.codes)}
        for i, f in enumerate(self.fields):
            out[i, index[self.code_of[f]]] = 1.0
        out.setflags(write=False)
        return out

    def citing(self, fields: Sequence[str]) -> list[str]:
        """The codes whose fields include any of ``fields`` (e.g. the likely-protected ones), in code order."""
        wanted = set(fields)
        return [c for c in self.codes if wanted.intersection(self.fields_of(c))]

    def label(self, code: str) -> str:
        """A code with its fields, for messages: ``R07 (age_in_years)``."""
        return f"{code} ({', '.join(self.fields_of(code))})"

    def to_dict(self) -> dict[str, Any]:
        """The table as recorded with a run: file name and sha256, and each code's statement and fields."""
        return {"source": Path(self.source).name, "sha256": self.sha256,
                "codes": {c: {"text": self.text_of[c], "fields": self.fields_of(c)} for c in self.codes}}


# -- a run's reasons (score, serve) ------------------------------------------------------------------
def codes_file(reason_codes: ReasonCodes | str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """The file a run's reason codes come from (an input an output must never replace), or None."""
    if isinstance(reason_codes, ReasonCodes):  # parsed from text: its source names no file
        return reason_codes.source if os.path.isfile(reason_codes.source) else None
    return reason_codes

def reasons_setup(predictor: Any, reasons: int,
                  reason_codes: ReasonCodes | str | os.PathLike[str] | None) -> ReasonCodes | None:
    """The run's reason codes, read and checked against the model's fields (None without them).

    Raises:
        ConfigError: codes without reasons, or a table that does not fit the model.
    """
    if reason_codes is None:
        return None
    if not reasons:
        raise ConfigError("Reason codes name the reasons of decided rows; they need reasons (e.g. reasons=4).",
                          param="reason_codes")
    if isinstance(reason_codes, ReasonCodes):
        reason_codes.check_fields(predictor.reason_fields, str(predictor.path))
        return reason_codes
    return ReasonCodes.read(reason_codes, predictor.reason_fields)


def reason_columns(predictor: Any, reasons: int, codes: ReasonCodes | None) -> int:
    """How many reason columns a run writes: ``reasons``, at most the fields (or codes) there are."""
    if not reasons:
        return 0
    return min(reasons, len(predictor.reason_fields) if codes is None else len(codes.codes))


def declared_protected(predictor: Any) -> list[str]:
    """The fields the artifact's report was made with as protected (``--protected``, its
    ``options.protected``: ``SEX`` of ``SEX:1/2``), in the model's field order; none where the
    artifact has no report or it cannot be read. score and serve named only fields whose names
    suggest a protected attribute, so the reasons cited MARRIAGE, declared protected, for 141 of
    454 declines without a word (a walk-through, 2026-12-05)."""
    from finlite._manifest import parse_json_bytes, read_listed

    root, manifest = getattr(predictor, "path", None), getattr(predictor, "manifest", None)
    if root is None or not isinstance(manifest, Mapping) or "report.json" not in manifest.get("files", {}):
        return []
    # Read as the scores' reference bins read it (batch._reference_bins): listed in the manifest,
    # its hash checked, no link followed, and refused naming the file when it is not JSON or nests
    # too deeply (a forged report, re-hashed), never read past as "no report".
    report = parse_json_bytes(read_listed(Path(root), manifest, "report.json"), str(Path(root) / "report.json"),
                              "validation report")
    try:
        listed = report["options"]["protected"]
    except (KeyError, TypeError):
        return []
    fields = list(predictor.reason_fields)
    # Each entry's column as the report read it (the shared split_band_edges: "status:marital" is a
    # field's own name, "age:25/62" the field age).
    names = {split_band_edges(item, fields)[0] for item in (listed if isinstance(listed, list) else [])
             if isinstance(item, str)}
    return [field for field in fields if field in names]


def protected_fields(predictor: Any) -> list[str]:
    """The reason fields that are protected characteristics: declared protected (:func:`declared_protected`),
    then those whose names suggest a protected attribute (:func:`finlite._protected.likely_protected`)."""
    return list(dict.fromkeys([*declared_protected(predictor), *likely_protected(predictor.reason_fields)]))


def protected_values(predictor: Any, codes: ReasonCodes | None) -> list[str]:
    """The reason-column values that cite a protected field (:func:`protected_fields`): those
    fields, or the codes that stand for them."""
    fields = protected_fields(predictor)
    return fields if codes is None else codes.citing(fields)


def not_the_applicant_values(predictor: Any, codes: ReasonCodes | None) -> list[str]:
    """The reason-column values that cite a field about the loan rather than the applicant: a
    party to it other than the applicant (:func:`finlite._protected.likely_other_party`: SBA's
    Bank, BankState) or the application's date (:func:`finlite._protected.likely_vintage`:
    ApprovalFY): those fields, or the codes that stand for them; protected ones are
    :func:`protected_values`'. ``score --reasons`` gave Bank and ApprovalFY as reasons in most of a
    book's declines without a word (an SBA walk-through, 2026-12-06); the report's note was its
    only mention."""
    names = list(predictor.reason_fields)
    protected = set(protected_fields(predictor))
    fields = [f for f in dict.fromkeys([*likely_other_party(names), *likely_vintage(names)]) if f not in protected]
    if codes is None:
        return fields
    # A code stands for such fields alone to be one: "Bank and income" states the applicant's too.
    about = set(fields)
    return [c for c in codes.citing(fields) if set(codes.fields_of(c)) <= about]


def masked_protected_notes(predictor: Any, codes: ReasonCodes | None) -> list[str]:
    """A warning for each code of the lender's table that stands for a protected field together
    with other fields (:func:`protected_fields`): its statement is printed whichever of its fields
    caused the decline, so a decline the protected field caused reads as the other one's ("Length
    of employment" for age_in_years; a compliance review, 2026-12-06), and the run's count of its
    citations cannot tell the two apart. Give a protected field a code of its own."""
    if codes is None:
        return []
    protected = set(protected_fields(predictor))
    out = []
    for code in codes.codes:
        fields = codes.fields_of(code)
        shared = [f for f in fields if f in protected]
        if shared and len(shared) < len(fields):
            others = [f for f in fields if f not in protected]
            out.append(f"warning: reason code {code} ({codes.text_of[code]!r}) stands for the protected field(s) "
                       f"{', '.join(shared)} and for {', '.join(others)}: a decline the protected field caused is "
                       f"stated as the code's text, and its citations cannot be told apart. Give "
                       f"{', '.join(shared)} a code of its own in the reason-codes table.")
    # The same disguise through two codes of one statement: age_in_years as C99 "Length of employment"
    # beside present_employment_since as C11 "Length of employment" passed unsaid (a fair-lending
    # walk-through, 2026-12-07).
    by_text: dict[str, list[str]] = {}
    for code in codes.codes:
        by_text.setdefault(codes.text_of[code].casefold(), []).append(code)
    for alike in by_text.values():
        cited = [c for c in alike if protected & set(codes.fields_of(c))]
        if cited and len(alike) > 1:
            out.append(f"warning: reason codes {', '.join(codes.label(c) for c in alike)} print the same statement "
                       f"({codes.text_of[alike[0]]!r}), and {', '.join(cited)} stand(s) for a protected field: a "
                       "decline the protected field caused reads on the notice as the other code's reason. Give the "
                       "protected field's code a statement of its own.")
    return out
