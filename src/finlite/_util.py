"""Small helpers shared by several boxes: atomic writes, hashing, parameter messages."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import json
import math
import os
import re
import shlex
import unicodedata
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from finlite._limits import MAX_DEPTH
from finlite.errors import ConfigError, DataError

_T = TypeVar("_T")


@contextlib.contextmanager
def set_within(var: ContextVar[_T], value: _T) -> Iterator[None]:
    """Within the block (in this thread or task), ``var`` holds ``value``; after it, what it held
    before, however the block ends: the switches a job sets for the code it calls (reproducing an
    older artifact's rules, remembering scores) end with the job."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: Other distributions that install a library under the same import name: finlite's gbdt extra
#: installs XGBoost as ``xgboost-cpu`` (the build without CUDA libraries), so a lookup of
#: ``xgboost`` alone recorded "not installed" in every manifest (a documentation review, 2026-12-05).
DISTRIBUTION_ALIASES: dict[str, tuple[str, ...]] = {"xgboost": ("xgboost-cpu",)}


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed version of each named library, under its name ("not installed" when absent): the
    distribution of that name, else one of its :data:`DISTRIBUTION_ALIASES`."""
    # Imported here: importlib.metadata costs about 20 ms, and scoring never asks for versions.
    from importlib import metadata

    out: dict[str, str] = {}
    for name in names:
        out[name] = "not installed"
        for distribution in (name, *DISTRIBUTION_ALIASES.get(name, ())):
            try:
                out[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes in memory."""
    return hashlib.sha256(data).hexdigest()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename.

    A crash mid-write leaves the old file (or nothing), never half a file; the temporary name
    ``.NAME.<pid>-<tag>.tmp`` lets the next write remove what a killed one left.
    """
    from finlite import _paths

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _paths.clean_file_leftovers(target.parent, target.name)
    tmp = _paths.new_temp_file(target)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        _paths.keep_mode(tmp, target)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StrictJSONError(ValueError):
    """JSON that parses but is not plain data: a NaN/Infinity literal or a key given twice."""


def _refuse_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not a number JSON allows (NaN and Infinity are refused)")


def _finite_float(text: str) -> float:
    # A literal such as 1e400 is valid JSON that Python reads as infinity: as refused as "Infinity".
    value = float(text)
    if not math.isfinite(value):
        raise StrictJSONError(f"{text[:40]} is beyond the range of a float (a number that large is refused)")
    return value


#: The most digits a whole number in a trusted JSON file may have: far more than any count, seed or
#: size finlite writes (2**64 has 20), far fewer than Python's own limit of 4,300, whose message
#: told the user to call sys.set_int_max_str_digits() (a review, 2026-12-04).
MAX_INT_DIGITS = 100


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJSONError(f"a whole number of {len(text.lstrip('-')):,} digits ({text[:20]}…) is far beyond any "
                              "value finlite writes")
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJSONError(f"the key {key[:40]!r} appears twice in one object")
        out[key] = value
    return out


def strict_json_loads(text: str) -> Any:
    """``json.loads`` for files finlite must trust: no NaN/Infinity literals or numbers beyond a
    float's range, no duplicate keys
    (which a reader could resolve differently from the writer).

    Raises:
        StrictJSONError: such a literal or key; json.JSONDecodeError (also a ValueError): not JSON;
            RecursionError: nested deeper than the interpreter allows (callers bound it).
    """
    if text.startswith("\ufeff"):  # json says "decode using utf-8-sig": a Python remedy, not the user's
        raise StrictJSONError("it starts with a byte order mark (U+FEFF), which finlite never writes: the file was "
                              "re-saved by an editor")
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int,
                      object_pairs_hook=_no_duplicates)


def dump_json(obj: Any) -> str:
    """Canonical JSON used for every file finlite writes: sorted keys, 2-space indent."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def utc_timestamp() -> str:
    """Creation time for artifacts and export records: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    When the ``SOURCE_DATE_EPOCH`` environment variable is set (the reproducible-builds
    convention: whole seconds since 1970-01-01 UTC) that time is used instead of the clock, so
    two identical runs write byte-identical artifacts.

    Raises:
        ConfigError: ``SOURCE_DATE_EPOCH`` is set but is not a whole number of seconds in range.
    """
    moment = source_date_epoch()
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_date_epoch() -> datetime | None:
    """The time ``SOURCE_DATE_EPOCH`` gives, or None when it is unset or blank.

    The command line checks it before numpy loads (``finlite._console``): numpy's f2py, which
    scipy imports, reads it with ``int()`` and stopped ``train`` and ``compress`` with a
    traceback and exit 1 on ``abc`` (a review, 2026-12-06).

    Raises:
        ConfigError: it is set but is not a whole, non-negative number of seconds in range.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw.strip() == "":
        return None
    try:
        seconds = int(raw.strip())
        if seconds < 0:
            raise ValueError(raw)
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(f"SOURCE_DATE_EPOCH is {raw[:40]!r}; it must be a whole, non-negative number of "
                          "seconds since 1970-01-01 UTC (e.g. $(git log -1 --format=%ct)), or unset.") from None


#: A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


#: Relative slack with which a value computed in floating point counts as *at* a documented
#: threshold: 16/30 over 20/30 is 0.7999999999999999, a Gini falling from 0.8 to 0.6 falls by
#: 0.2499999999999999, and the rules say "at 0.8", "by 25 % or more" (a boundary audit,
#: 2026-12-07). Far below any difference a decision could rest on.
AT_LIMIT_SLACK = 1e-9


def reaches(value: float, limit: float) -> bool:
    """Whether ``value`` is at or beyond ``limit`` (``>=``), a value within :data:`AT_LIMIT_SLACK`
    (relative) below it counting as at it. False for NaN: a caller that must not pass a value it
    cannot judge says so itself."""
    return value >= limit - AT_LIMIT_SLACK * abs(limit)


def percent(share: float) -> str:
    """A share as a percentage: one decimal from 1 %, two significant digits below it, so a fraud
    flag rate of 0.017 % reads "0.017%" and 0.01 % reads "0.01%", not "0.0%"; never in scientific
    notation, and a share that rounds to 1 % reads "1.0%" as 1 % itself does. The same from the
    other end: a share short of 100 % by less than 0.05 % keeps two significant digits of what it
    lacks (0.9999 reads "99.99%", not "100.0%"), so only all rows read 100 %."""
    if 0 < abs(share) < 1e-8:  # below a millionth of a percent: no 300-digit decimal
        return ">-0.000001%" if share < 0 else "<0.000001%"
    if 0 < 1 - share < 1e-8:
        return ">99.999999%"
    if share < 1 and f"{share:.1%}" == "100.0%":
        decimals = 1 - math.floor(math.log10((1 - share) * 100))  # two significant digits of the shortfall
        return f"{share * 100:.{decimals}f}".rstrip("0").rstrip(".") + "%"
    if 0 < abs(share) < 0.01:
        points = share * 100
        decimals = 1 - math.floor(math.log10(abs(points)))  # two significant digits
        rounded = round(points, decimals)
        if abs(rounded) < 1:
            return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".") + "%"
    return f"{share:.1%}"


#: Unicode categories written out rather than shown: format characters (U+202E right-to-left
#: override, U+200B zero-width space), line and paragraph separators (U+2028, U+2029), surrogates
#: (a file name decoded with surrogateescape: a stream with strict errors refuses to print one),
#: private-use and unassigned code points (a terminal draws them as it likes).
_WRITTEN_OUT = frozenset({"Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
#: Anything but printable ASCII: only these characters reach the per-character decision, so a
#: long ASCII message with line breaks costs one regex scan.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]")


def _spelt(code: int) -> str:
    """A code point written out: a control character (C0, DEL, C1) as ``\\xNN``, any other as
    ``\\uNNNN`` (``\\UNNNNNNNN`` above U+FFFF)."""
    return f"\\x{code:02x}" if code <= 0x9F else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def natural_key(value: Any) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """Sort key of an id read as text with its runs of ASCII digits as numbers: "X49" before
    "X107", 7 before 101 (as text 101 came first: a walk-through as an FX quant, 2026-12-07),
    numbers before names. A run is compared by its length without leading zeros, then its
    digits (no int() of a hostile 5,000-digit id); ids equal so far ("007" and "7") by their
    text, so the order never depends on the input's. One key for every table of ids: the flipped
    cases, the forecast tables' assets, the VaR's red assets."""
    text = str(value.item() if hasattr(value, "item") else value)
    parts = re.split(r"([0-9]+)", text)
    # re.split with a group puts the digit runs at the odd positions
    return tuple((0, len(part.lstrip("0")), part.lstrip("0")) if i % 2 else (1, 0, part)
                 for i, part in enumerate(parts) if part), text


def terminal_safe(text: str, keep: str = "") -> str:
    """``text`` with every character a terminal would act on written out: C0 controls, DEL and C1
    as ``\\xNN`` (an escape sequence in a hostile file's column name could clear the screen or
    retitle the window), and the categories of :data:`_WRITTEN_OUT` as ``\\uNNNN`` (above U+FFFF
    ``\\UNNNNNNNN``: a right-to-left override would show a value reversed, a zero-width space
    would hide that two names differ). Characters in ``keep`` (say tab and newline in a message)
    stay.

    Limits: letters, marks and spaces of every script are shown as they are, so look-alikes (a
    no-break space, a combining overlay) still look alike; the joiners some scripts and emoji
    sequences need (U+200C, U+200D) are written out too, which shows such text spelt out; and
    "unassigned" is as the interpreter's Unicode database knows it (an emoji newer than it is
    written out)."""

    def written(match: re.Match[str]) -> str:
        ch = match.group()
        code = ord(ch)
        if ch in keep:
            return ch
        if code < 0x20 or 0x7F <= code <= 0x9F or unicodedata.category(ch) in _WRITTEN_OUT:
            return _spelt(code)
        return ch

    return _NOT_PLAIN.sub(written, text)


#: What a file finlite writes for people (report.html, its plots, MODEL_CARD.md) writes out: C0
#: controls but tab and newline, DEL and C1 (a terminal showing the file acts on them), the
#: bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9: a value shown reversed), the line
#: and paragraph separators and surrogates. A fixed set, not Unicode categories, so that the file
#: is the same on every Python (their Unicode databases differ), and the joiners and soft hyphens
#: some scripts need stay as they are.
_DOCUMENT_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                              "\u2028\u2029\ud800-\udfff]")


def document_safe(text: str) -> str:
    """``text`` for a file finlite writes for people: the characters of :data:`_DOCUMENT_UNSAFE`
    written out as ``\\xNN`` or ``\\uNNNN``, everything else as it is (tab and newline included)."""
    return _DOCUMENT_UNSAFE.sub(lambda m: _spelt(ord(m.group())), text)


def spreadsheet_safe(value: Any) -> Any:
    """``value`` for a CSV a reviewer opens in a spreadsheet: text that would start a formula
    (``=HYPERLINK(...)``, ``@SUM(...)``, ``+1+1``, also in full-width forms) gets a leading
    apostrophe, which spreadsheets show as text; numbers and any other text are returned as they
    are (``-0.5`` stays a number)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix for an unknown name, or '' when nothing is close: a near
    spelling, else the one choice whose name begins with it, whatever the case ("default" for
    Taiwan's "default payment next month", which no spelling measure finds: a walk-through,
    2026-12-05)."""
    options = list(choices)
    match = difflib.get_close_matches(name, options, n=1)
    if not match and isinstance(name, str) and name.strip():
        start = name.strip().lower()
        match = [c for c in options if isinstance(c, str) and c.lower().startswith(start)]
        if len(match) != 1:  # several names begin so: none of them is the one meant
            match = []
    return f" Did you mean {match[0]!r}?" if match else ""


def is_whole(value: Any) -> bool:
    """True for a Python or numpy integer, False for a bool (which Python counts as an int)."""
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_instance(value: Any, types: type | tuple[type, ...], owner: str, name: str, expected: str) -> None:
    """Refuse ``value`` unless it is None or one of ``types``: a dict passed for a TrainConfig, or a
    string for a pruning method, was a raw TypeError or AttributeError deep in the job (a review
    of the Python API, 2026-12-05)."""
    if value is not None and not isinstance(value, types):
        from finlite._finite import shown  # never str() of a huge int (ValueError past 4,300 digits)

        raise ConfigError(f"The {name!r} parameter of {owner} must be {expected}; got {type(value).__name__} "
                          f"{shown(str(value) if isinstance(value, (dict, list, tuple, set)) else value, 60)}.",
                          param=name)


def separator_hint(header: list[str], read_with: str = ",") -> str | None:
    """Why a CSV header read as one column, when it holds another separator than ``read_with``
    (the one the file was read with: ``;``, ``|`` or a tab; for a .tsv, read with tabs, a comma)."""
    other = next((sep for sep in ";|\t," if len(header) == 1 and sep in header[0] and sep != read_with), None)
    if other is None:
        return None
    if other == ",":  # a comma-separated file named .tsv (a file fuzz, 2026-12-07: "target not in the file")
        return ("reads as one column whose name holds commas: the file seems comma-separated, and finlite reads "
                "tabs from a .tsv. Name it .csv (commas are read from .csv files), or write it with tabs")
    if other == "\t":  # a tab-separated file named .csv: renaming it is the whole fix
        return ("reads as one column whose name holds a tab: the file seems tab-separated, and finlite reads "
                "commas from a .csv. Name it .tsv (tabs are read from .tsv files), or write it with commas")
    european = " (a European export: write its decimal commas as points too)" if other == ";" else ""
    return (f"reads as one column whose name holds {other!r}: the file seems separated by {other!r}, and finlite "
            f"reads commas (tabs for .tsv). Write it with commas, or as .tsv with tabs{european}")


def check_flags(owner: str, **flags: Any) -> None:
    """Refuse a yes/no parameter that is not a Python bool.

    Python reads any non-empty string as true, so ``timing="no"`` turned timing on and
    ``overwrite="false"`` replaced an output without a word (a review of the Python API,
    2026-12-05). numpy's bool is refused too, with the fix: kept, it reached a manifest's JSON,
    which cannot hold it, after the training had run. The error names the parameter, as the
    command line's flags are named.
    """
    for name, value in flags.items():
        if isinstance(value, bool):
            continue
        kind = type(value)
        from finlite._finite import shown  # never str() of a huge int (ValueError past 4,300 digits)

        if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
            raise ConfigError(f"The {name!r} parameter of {owner} must be True or False; got numpy's bool {value}. "
                              f"Pass bool(...) of it.", param=name)
        raise ConfigError(f"The {name!r} parameter of {owner} must be True or False; got {kind.__name__} "
                          f"{shown(value, 60)}.", param=name)


def param_error(owner: str, name: str, expected: str, got: Any) -> ConfigError:
    """One message template for bad parameters, so every config reads the same way.

    The error carries the parameter's name as :attr:`~finlite.errors.FinliteError.param` (for an
    item, ``"layer_sparsity['fc1']"``, the parameter ``layer_sparsity``): the recipe loader finds
    the value's line in the file from it, and the command line names its flag.
    """
    return ConfigError(f"The {name!r} parameter of {owner} must be {expected}. Got {got!r} instead.",
                       param=name.split("[", 1)[0])


def check_widths(owner: str, name: str, values: Any, *, empty: bool = True) -> tuple[int, ...]:
    """Layer widths as a tuple of positive ints, or the parameter's error.

    A config read back from a manifest is untrusted: a width of ``2.5``, ``"64"`` or ``true``
    is refused rather than truncated or converted, and so is one that is not a list.
    """
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
        raise param_error(owner, name, "a list of positive integers", values)
    widths = list(values)
    if len(widths) > MAX_DEPTH:
        raise param_error(owner, name, f"at most {MAX_DEPTH} layer widths", f"{len(widths):,} widths")
    if (not widths and not empty) or any(not is_whole(w) or w < 1 for w in widths):
        raise param_error(owner, name, "a list of positive integers" if empty else
                          "a non-empty list of positive integers", widths)
    return tuple(int(w) for w in widths)


def check_fraction(owner: str, name: str, value: float, *, low_open: bool = False,
                   high_open: bool = True) -> float:
    """Validate a number in [0, 1] (ends open or closed as asked) and return it as float."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)
    if not ok:
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        exc = param_error(owner, name, f"a number in {lo}, {hi}", value)
        # "--flag-rate 10" meant 10 %: say what to write instead of only the range. Only for shares
        # (a weight such as alpha=2 is no percentage, nor is 1.5), and where value / 100 is allowed.
        if (isinstance(value, (int, float)) and not isinstance(value, bool) and 2 <= value < 100
                and re.search(r"rate|share|sparsity|cutoff|fraction|^test$|^validation$", name)):
            exc = ConfigError(f"{exc} It is a share, not a percentage: for {value:g} %, give {value / 100:g}.",
                              param=exc.param)
        raise exc
    return float(value)


def _file_head(path: Path) -> bytes | None:
    """The first 4 KiB of ``path`` as stored (compressed, for a .gz), or None when it cannot be read:
    what :func:`not_csv_text` and :func:`not_parquet` tell a file's kind from."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4096)
    except OSError:
        return None


#: What a file named .gz that is not gzip-compressed is told, wherever it is read.
NOT_GZIP = ("is named .gz but is not gzip-compressed; name it .csv if it is plain CSV text, or compress it (gzip "
            "FILE.csv makes FILE.csv.gz)")


def not_csv_text(path: Path, *, nul_in_header_only: bool = False) -> str | None:
    """What a file named as CSV holds instead of CSV text, from its first 4 KiB, or None: Arrow read
    a gzip or Parquet file as rows of garbage ("line 2 has 2 field(s)") and a zip or a binary file
    as "Empty CSV file"; pandas told all of them "not UTF-8 text" (reviews, 2026-12-04). ``score``
    asks when Arrow refuses a file, :func:`finlite.data.io.read_table` before it reads one, with
    ``nul_in_header_only``: a NUL byte in a cell of a readable CSV is pandas' to read (it was, and
    score reads it), while a binary file has one before its first line ends."""
    head = _file_head(path)
    if head is None:
        return None
    gz = path.name.lower().endswith(".gz")
    if gz and not head.startswith(b"\x1f\x8b"):
        # "could not be read: Not a gzipped file (b'st')" named no fix (a file fuzz, 2026-12-07).
        return "the file " + NOT_GZIP
    if head.startswith(b"\x1f\x8b") and not gz:
        # Not ".tsv.gz": finlite reads no such name (the advice led to another refusal: a walk-through).
        return ("the file is gzip-compressed; name it .csv.gz, which finlite reads as such (a tab-separated one: "
                "decompress it and name it .tsv)")
    if head.startswith(b"PAR1"):
        return "the file is Parquet, not CSV; name it .parquet"
    if head.startswith(b"PK\x03\x04"):
        return "the file is a zip archive (an Excel .xlsx workbook is one); export the sheet as CSV (CSV UTF-8)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and not gz:
        return "the file is UTF-16 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
    looked = head.split(b"\n", 1)[0] if nul_in_header_only else head
    if b"\x00" in looked and not gz:
        return "the file holds NUL bytes: it is binary, not CSV text; pass the CSV or Parquet file itself"
    return None


#: What a Parquet file may decompress to: this many times its size, and at least
#: :data:`PARQUET_MIN_LIMIT` bytes. Tables compress 2 to 20 times; a decompression bomb thousands
#: of times (78 KB of zstd pages held 2 GB of text and took 8 GB to score; a review, 2026-12-04).
PARQUET_MAX_RATIO = 100
PARQUET_MIN_LIMIT = 256 << 20
#: The largest value, in bytes on average over a column's rows, a Parquet column may hold: as a
#: CSV's value may not outgrow a read block (1 MiB), and no number or category needs more.
PARQUET_MAX_VALUE_BYTES = 1 << 20


def _parquet_limit(path: Path) -> tuple[int, int]:
    """(the file's size, the most its rows may decode to): :data:`PARQUET_MAX_RATIO` times its
    size, at least :data:`PARQUET_MIN_LIMIT`."""
    size = max(1, path.stat().st_size)
    return size, max(PARQUET_MIN_LIMIT, PARQUET_MAX_RATIO * size)


def _too_large(path: Path, total: int, size: int, where: str = "") -> DataError:
    return DataError(f"Data file {str(path)!r} decodes to {total:,} bytes or more{where}, {total / size:,.0f} times "
                     f"its {size:,} bytes (finlite reads at most {PARQUET_MAX_RATIO} times a Parquet file's size, or "
                     f"{PARQUET_MIN_LIMIT >> 20} MiB if more): that is a decompression bomb or not a table of numbers "
                     "and categories. Check the file, and write it again without such columns.")


def check_parquet_size(path: Path, columns: Iterable[str] | None = None) -> None:
    """Refuse, from its footer and before any row is read, a Parquet file whose ``columns`` (all
    when None) decode to more than the limit of :func:`_parquet_limit`, or hold values of more
    than :data:`PARQUET_MAX_VALUE_BYTES` on average.

    A column's decoded size here is what its pages hold once decompressed (the footer's record),
    and at least its rows times the width of a fixed-width type (a run-length encoded column of
    one number takes bytes on disk and 8 bytes a row in memory). Text stored with a dictionary or
    in a delta encoding records less than it decodes to (23 KB held 10 GB; the diff's reviews,
    2026-12-04 night), as may a false footer: the readers bound those as they read, a batch at a
    time (:func:`check_parquet_batch`, :func:`check_parquet_decoded`).

    Raises:
        DataError: naming the file, the sizes and, for the values, the column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(path)
    metadata, arrow = reader.metadata, reader.schema_arrow
    names = list(arrow.names)
    wanted = set(names) if columns is None else set(columns) & set(names)
    # A flat file has one leaf per field, in order (a dotted name is one field, not a path);
    # nested columns are refused by the readers, named, before or after this.
    flat = metadata.num_columns == len(names)
    rows = max(0, int(metadata.num_rows))
    decoded: dict[str, int] = dict.fromkeys(wanted, 0)
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for j in range(group.num_columns):
            chunk = group.column(j)
            name = names[j] if flat else chunk.path_in_schema.split(".", 1)[0]
            if name in wanted:
                decoded[name] += max(0, int(chunk.total_uncompressed_size))
    for name in wanted:
        kind = arrow.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        try:
            width = 0 if pa.types.is_boolean(kind) else int(kind.bit_width)
        except ValueError:  # text, bytes, a decimal of variable width: no fixed width
            width = 0
        if width and width % 8 == 0:
            decoded[name] = max(decoded[name], rows * width // 8)
    size, limit = _parquet_limit(path)
    total = sum(decoded.values())
    if total > limit:
        raise _too_large(path, total, size)
    for name, held in decoded.items():
        if rows and held / rows > PARQUET_MAX_VALUE_BYTES:
            raise DataError(f"Column {name!r} of {str(path)!r} holds {held / rows:,.0f} bytes per row on average; "
                            f"finlite reads values of at most {PARQUET_MAX_VALUE_BYTES:,} bytes (1 MiB), as in a CSV "
                            "file: no number or category needs more. Drop the column when writing the file.")


def check_parquet_decoded(path: Path) -> None:
    """Read a Parquet file's rows once, a batch at a time, and refuse it as soon as what they decode
    to passes the limit of :func:`_parquet_limit` (or a batch fails :func:`check_parquet_batch`),
    before a reader that holds every row at once (training's ``pd.read_parquet``) starts: text a
    dictionary or a delta encoding stores in little (DELTA_BYTE_ARRAY: 114 KB held 1 GB; the
    diff's second review, 2026-12-04 night) is bounded too. Memory holds one batch.

    Raises:
        DataError: naming the file and the bytes decoded so far.
    """
    import pyarrow.parquet as pq

    size, limit = _parquet_limit(path)
    total, first = 0, 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=8_192):
        total += check_parquet_batch(path, batch, first)
        first += batch.num_rows
        if total > limit:
            raise _too_large(path, total, size, f" in its first {first - 1:,} rows")


def check_parquet_batch(path: Path, batch: Any, first_row: int) -> int:
    """The bytes a batch of a Parquet file's rows holds, a column read dictionary-encoded counted
    by its indices; refused when more than :data:`PARQUET_MAX_VALUE_BYTES` per row and column on
    average: what a footer that under-records its pages hides from :func:`check_parquet_size`
    shows here, one batch into the file.

    Raises:
        DataError: naming the file and the rows.
    """
    rows, width = int(batch.num_rows), max(1, int(batch.num_columns))
    # A column read dictionary-encoded carries its row group's dictionary so far in every batch (a
    # merchant name column past the writer's dictionary page limit: 23 MB in a 1-row batch, the
    # diff's review): its rows are its indices.
    held = sum(int(getattr(c, "indices", c).nbytes) for c in batch.columns)
    if rows and held > PARQUET_MAX_VALUE_BYTES * rows * width:
        raise DataError(f"Rows {first_row:,}-{first_row + rows - 1:,} of {str(path)!r} hold {held:,} bytes, "
                        f"more than {PARQUET_MAX_VALUE_BYTES:,} (1 MiB) a value on average, more than its footer "
                        "records: the file is damaged or crafted. Write it again from its source.")
    return held


def not_parquet(path: Path) -> str | None:
    """What a file named as Parquet holds instead, from its first bytes, or None (Parquet, or not
    told): Arrow says only "Parquet magic bytes not found in footer" of a CSV or a gzip file
    named .parquet (a review, 2026-12-04). Asked only once Arrow has refused the file."""
    head = _file_head(path)
    if head is None or head.startswith(b"PAR1"):
        return None
    if head.startswith(b"\x1f\x8b"):
        return "the file is gzip-compressed, not Parquet; if it is a compressed CSV, name it .csv.gz"
    if head.startswith(b"PK\x03\x04"):
        return "the file is a zip archive (an Excel .xlsx workbook is one), not Parquet; export the sheet as CSV"
    line = head.split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        return None
    if text.isprintable() and not text.lstrip().startswith(("{", "[")) and any(sep in text for sep in ",;\t"):
        return "the file holds text with separators, a CSV, not Parquet; name it .csv (or .tsv for tabs)"
    return None


#: A gzipped CSV may decompress to at most this many times its size (or :data:`GZIP_MIN_LIMIT`
#: bytes, if more): tables compress 5 to 20 times, a decompression bomb thousands of times.
GZIP_MAX_RATIO = 100
GZIP_MIN_LIMIT = 1 << 30
GZIP_MIN_LIMIT_TEXT = "1 GiB"


class _BoundedReader(io.RawIOBase):
    """A readable stream that raises DataError once more than ``limit`` bytes came out of ``raw``."""

    def __init__(self, raw: Any, limit: int, path: Path) -> None:
        super().__init__()
        self.raw, self.limit, self.path, self.count = raw, limit, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import zlib

        try:
            n = int(self.raw.readinto(buffer))
        except (EOFError, zlib.error, OSError) as exc:
            # A truncated or damaged stream: EOFError is no OSError, and the command line took it
            # for an abort (exit 1, "a gate decided"; a review, 2026-12-05). Arrow's own reader said
            # "Truncated compressed stream", exit 2: so does this, naming the file.
            if isinstance(exc, OSError) and exc.filename:
                raise
            if self.count == 0 and isinstance(exc, OSError) and "Not a gzipped file" in str(exc):
                raise DataError(f"Data file {str(self.path)!r} {NOT_GZIP}.") from exc
            raise DataError(f"Data file {str(self.path)!r} is not a complete gzip stream ({exc or type(exc).__name__}): "
                            "it was cut short or damaged. Copy it again, or write the table uncompressed or as "
                            "Parquet.") from exc
        self.count += n
        if self.count > self.limit:
            raise DataError(f"Data file {str(self.path)!r} decompresses to more than {self.limit:,} bytes "
                            f"({GZIP_MAX_RATIO} times its size, at least {GZIP_MIN_LIMIT_TEXT}): that is a "
                            "decompression bomb or not a table. Decompress it yourself and check it, or write the "
                            "table as Parquet.")
        return n

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()



def open_bounded_gzip(path: Path, min_limit: int | None = None) -> io.BufferedReader:
    """A gzipped file's bytes through a bounded decompression: at most :data:`GZIP_MAX_RATIO` times
    its size, or ``min_limit`` bytes (default :data:`GZIP_MIN_LIMIT`) if more; beyond, a read
    raises DataError naming the file. The caller closes it (which closes the file). Every reader
    of a ``.gz`` table goes through it: training's and scoring's (score decompressed a 5 MB file
    to 1.1 GiB unbounded: a nightly run's walk-through, 2026-12-05)."""
    import gzip

    floor = GZIP_MIN_LIMIT if min_limit is None else min_limit
    limit = max(floor, GZIP_MAX_RATIO * path.stat().st_size)
    raw = gzip.open(path, "rb")  # noqa: SIM115 -- the returned reader owns it; the caller closes that
    try:
        return io.BufferedReader(_BoundedReader(raw, limit, path), 1 << 20)
    except BaseException:
        raw.close()
        raise


def is_sep_line(line: str) -> bool:
    """Whether a CSV's first line is a spreadsheet's separator directive ("sep=," or "sep=;")."""
    return re.fullmatch(r"\s*sep=.?\s*", line, flags=re.IGNORECASE) is not None


def sep_line_refusal(path: Any, line: str) -> str:
    """The refusal of a CSV whose first line is a spreadsheet's separator directive ("sep=,"): it
    was read as a header of one column, with advice about row labels or field counts that named
    the wrong line (a data engineer's walk-through, 2026-12-06). Training and scoring say the same."""
    return (f"Data file {str(path)!r} starts with {line.strip()!r}, a spreadsheet's separator line, not a header: "
            "remove line 1 (the header is line 2).")


def shell_word(name: str) -> str:
    """A column name as a shell reads it after an option (``--drop 'Kreditbetrag (€)'``), so advice
    such as "pass --categorical NAME" can be pasted: a name with a space or a bracket was printed
    bare, a syntax error in the shell (a European modeller's walk-through, 2026-12-07). A plain
    name is left as it is."""
    return shlex.quote(str(name))
