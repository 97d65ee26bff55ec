"""Reading tables: CSV (optionally gzip-compressed), Parquet, or a pandas DataFrame."""

from __future__ import annotations

import contextlib
import csv
import decimal
import gzip
import hashlib
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finlite._finite import shown
from finlite._keys import CSV_MISSING
from finlite._util import (
    GZIP_MIN_LIMIT,
    check_parquet_decoded,
    check_parquet_size,
    is_sep_line,
    not_csv_text,
    not_parquet,
    open_bounded_gzip,
    sep_line_refusal,
    separator_hint,
    sha256_file,
)
from finlite.errors import DataError

__all__ = ["LINE_SCAN_CHARS", "Table", "csv_records", "data_row_line", "frame_sha256", "read_table"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
#: A gzipped CSV may decompress to at most GZIP_MAX_RATIO times its size (or 1 GiB, if more):
#: finlite._util.open_bounded_gzip, which scoring reads through too.
_GZIP_MIN_LIMIT = GZIP_MIN_LIMIT


def _check_unique_header(path: Path, sep: str) -> list[str]:
    """Refuse a CSV whose header names a column twice: pandas would rename the second "x.1" and
    train on both, and the scoring reader (Arrow) refuses the same file, naming the column.
    Returns the header's names (empty when the csv module cannot split the line)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:  # bytes, as score's reader counts them (not characters)
        head = raw.readline((1 << 20) + 1)
    if len(head) > 1 << 20 and not head.endswith((b"\n", b"\r")):
        # Cut there, its last name read as another (a false "named twice": a security review,
        # 2026-12-06); and finlite score refuses a header this long, so the model could not score it.
        raise DataError(f"Data file {str(path)!r}: its first line (the column names) is longer than 1 MiB, more than "
                        "finlite score reads as a header, so a model trained on it could not score the same file. "
                        "Keep the columns the model needs (fewer or shorter names).")
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        line = fh.readline(1 << 20)  # the whole header line: at most 1 MiB of bytes, so as many characters
    if is_sep_line(line):
        raise DataError(sep_line_refusal(path, line))
    try:
        names = next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
        written = next(csv.reader([line], delimiter=sep), [])
    except csv.Error:  # a name past the csv module's field limit: the reader that follows decides
        return []
    # A name pandas trims and Arrow keeps: an unquoted space before a name (the two csv readings
    # differ there, the first name's included; a quoted " b" both keep, and is no fault).
    spaced = next((w for w, n in zip(written, names, strict=False) if w != n), None)
    if spaced is not None:
        # pandas trims a space after the separator, Arrow (which finlite score reads with) keeps
        # it: a model trained on ", "-separated columns could not score the same file ("lacks
        # 'credit_amount'; spelled otherwise: ' credit_amount'": a data engineer's walk-through,
        # 2026-12-06), and a quoted value after ", " split in two there.
        raise DataError(f"Data file {str(path)!r} has a space before a name in its header ({spaced!r}): "
                        "finlite score reads it as part of the name (and a space after a separator as part of each "
                        "value), so the same file could not be scored. Remove the spaces after the separators (write "
                        f"the file with {sep!r} alone between fields; pandas: df.to_csv(path, index=False)).")
    last = max((i for i, n in enumerate(names) if n.strip()), default=-1)
    # Blank names after the last named one are a trailing separator, refused on their own below.
    blank = next((i for i, n in enumerate(names[:last]) if not n.strip()), None)
    if blank is not None and title_line(path, sep) is None:
        # pandas names it "Unnamed: N" and trains on it: a DataFrame's index written by to_csv
        # became a feature, and the same file could not be scored (a walk-through, 2026-12-06).
        first = " (a table's index, as pandas' to_csv writes it without index=False)" if blank == 0 else ""
        raise DataError(f"Data file {str(path)!r} has a column with no name in its header, column {blank + 1}"
                        f"{first}: name it, or remove it from the file.")
    twice = [name for name, count in Counter(names).items() if count > 1]
    if twice:
        # A title in the first cell and empty ones after it, as a spreadsheet exports it
        # ("Credit card clients,,,,"): told as a title, not as a column '' named twice (a
        # walk-through, 2026-12-05).
        title = title_line(path, sep)
        if title is not None:
            raise DataError(title)
        raise DataError(f"Data file {str(path)!r} names the column(s) {', '.join(map(repr, twice))} "
                        "more than once in its header; rename or remove the repeated column.")
    return names


def _text_options(names: Sequence[str], text_columns: Sequence[str]) -> dict[str, Any]:
    """read_csv options that keep ``text_columns`` exactly as written (``"000001"`` stays that, a
    ticker "NA" is no missing value; only an empty cell is) and read the other columns as usual."""
    text = [c for c in text_columns if c in names]
    if not text:
        return {}
    # The other columns keep pandas' own missing cells (CSV_MISSING, which a test holds equal to it).
    na = {c: [""] if c in text else list(CSV_MISSING) for c in names}
    return {"dtype": dict.fromkeys(text, str), "keep_default_na": False, "na_values": na}


def _read_csv(path: Path, sep: str, **options: Any) -> pd.DataFrame:
    """pandas' read of a CSV (through the bounded decompression for ``.gz``)."""
    if path.name.lower().endswith(".gz"):
        return _read_gzip_csv(path, sep, **options)
    frame: pd.DataFrame = pd.read_csv(path, sep=sep, skipinitialspace=True, low_memory=False, **options)
    return frame


def _head_rows(path: Path, sep: str) -> tuple[list[str], list[str]] | None:
    """The fields of a CSV file's first two lines (at most 1 MiB each), or None when they cannot
    be read: what the title checks look at."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            lines = [fh.readline(1 << 20) for _ in range(2)]
        first, second = (next(csv.reader([line], delimiter=sep), []) for line in lines)
    except (OSError, csv.Error):
        return None
    return first, second


#: A whole number written with a leading zero ("022", "00710"): a code, as read_csv turns it into 22.
ZERO_PADDED = re.compile(r"0[0-9]+")
#: A number with a dot every three digits ("1.169", "12.500.000"), and one below a thousand.
_DOT_GROUPS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
_UNDER_A_THOUSAND = re.compile(r"[0-9]{1,3}")
#: Dotted values a column's head must hold before its dots are read as thousands' separators.
_MIN_DOTTED = 5

#: What :func:`written_forms` finds: the codes' zeros and the thousands' dots read_csv hides.
LEADING_ZEROS, DOTS_AS_THOUSANDS = "leading zeros", "dots as thousands"


def written_forms(path: Path, sep: str, frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """For the columns read as numbers, what the file's first MiB writes that the numbers hide,
    as ``{column: (form, example)}``: :data:`LEADING_ZEROS` where a value is a whole number with a
    leading zero (``022``: branch, product or postal codes, which read_csv turns into 22), and
    :data:`DOTS_AS_THOUSANDS` where every value with a dot has a dot every three digits
    (``1.169``), at least five do, and every other is below a thousand, one at least: a European export's
    thousands, which read_csv reads as 1.169 (note 70). Only the head is read: enough for the
    schema's note on leading zeros, and for its refusal of dots as thousands, which ``numeric=``
    overrides (a column whose thousands' dots first show after the first MiB is not seen)."""
    numeric = {str(c): i for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])}
    if not numeric:
        return {}
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    found: dict[str, tuple[str, str]] = {}
    dotted: dict[str, list[str]] = {name: [] for name in numeric}
    undotted: set[str] = set()
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            head = fh.read(1 << 20)
        # Rows as the csv module cuts them (only \r and \n end a line: str.splitlines also cut at
        # U+2028 inside a text field, shifting the columns after it: a review, 2026-12-06); the
        # header first, and a row cut short at the end of the MiB last.
        rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=sep))[1:]
        if len(head) == 1 << 20:
            rows = rows[:-1]
        for row in rows:
            for name, at in numeric.items():
                value = row[at].strip() if at < len(row) else ""
                if not value:
                    continue
                if name not in found and ZERO_PADDED.fullmatch(value):
                    found[name] = (LEADING_ZEROS, value)
                kept = dotted.get(name)
                if kept is None:
                    continue
                if _DOT_GROUPS.fullmatch(value):
                    kept.append(value)
                elif _UNDER_A_THOUSAND.fullmatch(value):
                    undotted.add(name)
                else:
                    del dotted[name]  # a decimal, a sign, an exponent, 1000 undotted: no thousands' dots
    except (OSError, csv.Error, EOFError, zlib.error):
        return {}
    for name, values in dotted.items():
        # An undotted value beside the dotted ones: a column of rates written "%.3f" (4.125, 5.500)
        # has a dot in every value, and got the note (a review, 2026-12-06).
        if len(values) >= _MIN_DOTTED and name in undotted and name not in found:
            found[name] = (DOTS_AS_THOUSANDS, values[0])
    return {c: found[c] for c in numeric if c in found}


def second_line_names(path: Path, sep: str) -> list[str]:
    """The fields of a CSV file's second line, stripped (empty when it cannot be read): where the
    column names are when a title or a row of labels sits above them."""
    rows = _head_rows(path, sep)
    return [] if rows is None else [f.strip() for f in rows[1]]


def title_line(path: Path, sep: str) -> str | None:
    """The refusal of a file whose first line is a title above its header (an export's "Notes
    offered by Prospectus (https://...)": it was refused as "rows of more fields than its header",
    which pointed at the wrong line: a walk-through, 2026-12-05), or None: a first line of at most
    two fields above one of more than three times as many non-empty fields."""
    rows = _head_rows(path, sep)
    if rows is None:
        return None
    first, second = rows
    filled = [f for f in second if f.strip()]  # a row's trailing empty fields are no columns of a header
    # A spreadsheet pads a title's line with empty fields ("Credit card clients,,,,"): they are no
    # names. Only words read as a title there: a header naming 2 of its 8 columns ("id,target,,,")
    # is a header with unnamed columns, not a title (a review, 2026-12-05).
    padded = any(not f.strip() for f in first)
    first = [f for f in first if f.strip()]
    if not 1 <= len(first) <= 2 or len(filled) < 3 * len(first) + 1:
        return None
    if padded and not any(" " in f.strip() for f in first):
        return None
    return (f"Data file {str(path)!r} starts with a line of {len(first)} field{'' if len(first) == 1 else 's'} "
            f"({shown(sep.join(first).strip()[:80])}) above one of {len(filled)}: line 1 looks like a title above the "
            "header. Remove the lines above the header (the column names), and any notes below the data.")


def _check_field_counts(path: Path, sep: str, frame: pd.DataFrame) -> None:
    """Refuse a CSV with a row of other than the header's number of fields, which pandas reads
    anyway: a row cut short has its missing fields filled with nothing (trained on as imputed
    values, where the scoring reader, Arrow, refuses the file), and rows of one more field than
    the header have their first field taken as row labels.

    Only a file that could hold a short row is searched (one whose last column has a missing
    value: a short row leaves it empty), by Arrow's reader, which counts every row's fields fast
    (about 0.4 s for SBA's 179 MB) but reads a space before a quote, or a line of spaces, unlike
    pandas; a row it flags is confirmed with the csv module read as pandas reads, which also
    finds its line."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not frame.index.equals(pd.RangeIndex(len(frame))):
        title = title_line(path, sep)
        if title is not None:
            raise DataError(title)
        raise DataError(f"Data file {str(path)!r} has rows of more fields than its header names columns: its first "
                        "field was read as row labels. Name every column in the header (or remove the extra "
                        "field).")
    if frame.empty or not frame.iloc[:, -1].isna().any():
        return
    first = str(frame.columns[0])
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True)
    convert = pacsv.ConvertOptions(include_columns=[first], column_types={first: pa.string()})
    read = pacsv.ReadOptions(block_size=1 << 22)
    try:
        with contextlib.ExitStack() as stack:
            source: Any = stack.enter_context(_gzip_stream(path)) if path.name.lower().endswith(".gz") else str(path)
            for _ in pacsv.open_csv(source, parse_options=parse, convert_options=convert, read_options=read):
                pass
    except pa.ArrowInvalid as exc:
        if re.search(r"Expected \d+ columns, got \d+", str(exc)) is None:
            return  # another complaint of Arrow's (an encoding): pandas' reading stands
        want = len(frame.columns)
        # The whole file if need be: this runs only when Arrow flagged a row.
        found = next(((line, len(record)) for line, record in csv_records(path, sep, limit=None)
                      if len(record) != want), None)
        if found is None:  # a space before a quote, a line of spaces: pandas reads those rows right
            return
        line, got = found
        if got < want:
            raise DataError(f"Data file {str(path)!r} has a row of {got} fields at line {line} where the header names "
                            f"{want} columns: a row cut short, or a line break inside an unquoted field. Complete or "
                            "remove that row (finlite does not fill in a row's missing fields).") from None
        raise DataError(f"Data file {str(path)!r} has a row of {got} fields at line {line} where the header names "
                        f"{want} columns: a separator inside an unquoted field, or a header missing a name. Quote "
                        "that field or name every column.") from None
    except (OSError, pa.ArrowException):
        return  # unreadable to Arrow: pandas read it, and what scoring refuses is named there


#: How much of a CSV file a message's line number may read (only when an error is reported).
LINE_SCAN_CHARS = 64 << 20


def csv_records(path: Path, sep: str | None = None, *,
                limit: int | None = LINE_SCAN_CHARS) -> Iterator[tuple[int, list[str]]]:
    """Each record of a CSV file (``.gz`` too) with the line it starts on, header included, as
    an editor counts lines (blank lines and quoted line breaks included), split as pandas splits
    them (spaces after a separator skipped); blank lines and lines of spaces are not records.
    Stops after ``limit`` characters (None: the whole file) or at an unreadable byte stream: for
    naming a line in an error message, never for reading data."""
    name = path.name.lower()
    sep = sep or ("\t" if name.endswith(".tsv") else ",")
    opener: Any = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            def bounded() -> Iterator[str]:
                read = 0
                for text in fh:
                    read += len(text)
                    if limit is not None and read > limit:
                        return
                    yield text

            reader = csv.reader(bounded(), delimiter=sep, skipinitialspace=True)
            start = 1
            for record in reader:
                if any(field.strip() for field in record) or len(record) > 1:
                    yield start, record
                start = reader.line_num + 1
    except (OSError, csv.Error, EOFError):
        return


def utf8_fault(path: Path, sep: str | None = None) -> str | None:
    """Where a CSV file stops being UTF-8 text, for a message: "line N, column 'NAME'" of the first
    byte that does not decode (a latin-1 'é' from a spreadsheet), by one strict decode of the first
    :data:`LINE_SCAN_CHARS` bytes (lines end in CR LF, LF or a lone CR, as a Mac spreadsheet writes
    them); None when they decode. Counted in place, no list of lines: this runs on an error path,
    where a copy per line cost a gigabyte for 64 MiB. The column is counted by separators before
    that byte as a CSV reader splits the line (a value quoted across lines still shifts it)."""
    name = path.name.lower()
    sep = sep or ("\t" if name.endswith(".tsv") else ",")
    opener: Any = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(LINE_SCAN_CHARS + 1)
    except (OSError, EOFError, zlib.error):
        return None
    cut = len(data) > LINE_SCAN_CHARS
    data = data[:LINE_SCAN_CHARS]
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        if cut and exc.reason == "unexpected end of data":
            return None  # the read stopped inside a character: not judged
        at = exc.start
    crlf = data.count(b"\r\n", 0, at)
    number = data.count(b"\n", 0, at) + data.count(b"\r", 0, at) - crlf + 1
    begin = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
    # Fields counted as a CSV reader splits them (a quoted separator is no boundary: a latin-1
    # "Zürich" in the last column was named as column '#23' after quoted commas; a walk-through,
    # 2026-12-06); latin-1 maps each byte to one character, so the prefix always decodes.
    try:
        index = len(next(csv.reader([data[begin:at].decode("latin-1") + "x"], delimiter=sep), [""])) - 1
    except csv.Error:
        index = data.count(sep.encode(), begin, at)
    first_end = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=len(data))
    try:
        header = next(csv.reader([data[:first_end].decode("utf-8-sig")], delimiter=sep), [])
    except (UnicodeDecodeError, csv.Error):
        header = []
    if number == 1:  # the header itself: its column has no name to show yet (it was told as '#4')
        return f"line 1, the header: the name of column {index + 1}"
    column = header[index] if index < len(header) else f"#{index + 1}"
    return f"line {number}, column {column!r}"


def not_utf8_message(path: Path, sep: str | None = None) -> str:
    """The advice for a CSV that is not UTF-8, naming the first line and column found."""
    where = utf8_fault(path, sep)
    return (f"{str(path)!r} is not UTF-8 text" + (f" (first at {where})" if where else "")
            + "; save it as UTF-8 (in a spreadsheet: CSV UTF-8) and run again. A spreadsheet's plain \"CSV\" is "
              "often Windows-1252 or Latin-1, whose letters such as ä, é or € are not UTF-8.")


@contextlib.contextmanager
def _gzip_stream(path: Path) -> Iterator[Any]:
    """A gzipped file's bytes through the bounded decompression (:func:`finlite._util.open_bounded_gzip`)."""
    with open_bounded_gzip(path, _GZIP_MIN_LIMIT) as stream:
        yield stream


def data_row_line(path: Path, row: int) -> int | None:
    """The line of a CSV file where data row ``row`` (0-based, as the reader counted them)
    starts; None when ``path`` is no CSV file, or the row lies past what :func:`csv_records`
    reads."""
    if not path.name.lower().endswith(_CSV_SUFFIXES) or not path.is_file():
        return None
    # Record 0 is the header: data row ``row`` is record ``row + 1``.
    return next((line for k, (line, _) in enumerate(csv_records(path)) if k == row + 1), None)


def _read_gzip_csv(path: Path, sep: str, **options: Any) -> pd.DataFrame:
    """A gzipped CSV read through :func:`_gzip_stream`."""
    with _gzip_stream(path) as stream:
        frame: pd.DataFrame = pd.read_csv(stream, sep=sep, skipinitialspace=True, low_memory=False, **options)
        return frame

_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Table:
    """A table read into memory with where it came from.

    Attributes:
        frame: the rows.
        source: a human-readable origin used in every error message (a path or "DataFrame").
        file_sha256: sha256 of the file's bytes, or None for an in-memory frame.
    """

    frame: pd.DataFrame
    source: str
    file_sha256: str | None = None
    #: Columns read as numbers that the file writes otherwise (leading zeros, dots as thousands),
    #: with an example: see :func:`written_forms`.
    written: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def read_table(data: str | os.PathLike[str] | pd.DataFrame, *, text_columns: Sequence[str] = (),
               source: str | None = None) -> Table:
    """Read CSV, Parquet or a DataFrame into a :class:`Table`.

    ``text_columns`` (e.g. an asset id column) are read from a CSV as the text written, not
    guessed: ``000001`` and ``1.0`` stay two ids, and ``NA`` is a ticker, not a missing value.
    ``source`` names a DataFrame in messages (default "the DataFrame"; a forecaster's history
    given as a dict of lists is "the price history").

    Raises:
        DataError: the file is missing, empty, of an unknown type, or cannot be parsed.
    """
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise DataError("The DataFrame passed as data has no rows; pass a table with at least one row.")
        frame = plain_types(data.reset_index(drop=True))
        _check_flat_frame(frame, source or "the DataFrame")
        return Table(frame, "DataFrame")
    if not isinstance(data, (str, os.PathLike)):
        raise DataError(f"Data must be a file path or a pandas DataFrame; got {type(data).__name__}.")
    path = Path(data)
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist; check the path (it is read relative to {os.getcwd()}).")
    if path.is_dir():
        raise DataError(f"Data path {str(path)!r} is a directory; pass a .csv or .parquet file.")
    if not path.is_file():  # a device reads for ever (/dev/zero), a pipe waits for a writer
        raise DataError(f"Data path {str(path)!r} is not a regular file (a device, a pipe or a socket); pass a .csv "
                        "or .parquet file.")
    if path.stat().st_size == 0:
        raise DataError(f"Data file {str(path)!r} is empty (0 bytes); export the table again.")
    name = path.name.lower()
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            _check_flat_parquet(path)
            frame = plain_types(pd.read_parquet(path))
        elif name.endswith(_CSV_SUFFIXES):
            # A gzip, Parquet, xlsx, UTF-16 or binary file read "not UTF-8 text".
            other = not_csv_text(path, nul_in_header_only=True)
            if other is not None:
                raise DataError(f"Data file {str(path)!r} is not CSV text: {other}.")
            sep = "\t" if name.endswith(".tsv") else ","
            # Each column's type is read from the whole column, not guessed per block of the file:
            # by block, SBA's ApprovalFY came out as integers in some rows and text in others
            # (years, and "1976A" in a few rows). On SBA (179 MB) both take about 2 s and 0.8 GB.
            names = _check_unique_header(path, sep)
            hint = separator_hint(names, sep)
            if hint is not None:  # a European export (';', decimal commas) or tabs in a .csv: not "extra fields"
                raise DataError(f"Data file {str(path)!r} {hint}.")
            options = _text_options(names, text_columns)
            frame = _read_csv(path, sep, **options)
            if options and [str(c) for c in frame.columns] != names:
                # pandas named a column otherwise than the header ("Unnamed: 3" for an empty name):
                # per-column missing-value lists keyed by the header would miss it; read as usual.
                frame = _read_csv(path, sep)
            _check_field_counts(path, sep, frame)
        else:
            sheet = name.endswith((".xlsx", ".xlsm", ".xls", ".ods", ".numbers"))
            raise DataError(
                f"Data file {str(path)!r} has an unknown type; finlite reads .csv, .csv.gz, .tsv, "
                ".parquet and .pq files." + (" It is a spreadsheet's workbook: save the sheet as CSV UTF-8 (with '.' "
                                             "as the decimal point), or read it with pandas.read_excel and pass the "
                                             "DataFrame." if sheet else "")
            )
    except DataError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"Data file {str(path)!r} has no header and no rows; export the table again.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"Data file {not_utf8_message(path)}") from exc
    except MemoryError:
        raise DataError(f"Data file {str(path)!r} does not fit in the memory available once read; use a machine with "
                        "more memory, or a sample of the rows.") from None
    except Exception as exc:  # the readers raise many types; all mean "cannot parse"
        # pandas' C parser: "Error tokenizing data. C error: Expected 3 fields in line 602, saw 4\n"
        extra = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if extra is not None:
            want, line, got = extra.groups()
            raise DataError(f"Data file {str(path)!r} has a row of {got} fields at line {line} where the header names "
                            f"{want} columns: an extra field, or a separator inside an unquoted value. Quote that "
                            "value or remove the extra field (a header must name every column).") from None
        reason = " ".join((str(exc) or type(exc).__name__).split())
        raise DataError(f"Data file {str(path)!r} could not be read: {reason}. Check that it is valid CSV or "
                        "Parquet.") from exc
    if frame.empty:
        raise DataError(f"Data file {str(path)!r} has a header but no rows; it needs at least one row.")
    _check_flat_frame(frame, repr(str(path)))
    written = written_forms(path, sep, frame) if name.endswith(_CSV_SUFFIXES) else {}
    return Table(frame, str(path), sha256_file(path), written)


def _check_flat_parquet(path: Path) -> None:
    """Refuse a Parquet file with nested columns (list, struct, map) or repeated names from its
    schema, and one whose rows would decode beyond the bounds (``_util.check_parquet_decoded``,
    which reads the rows a batch at a time), before pandas reads them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception:  # noqa: BLE001 - unreadable files get the reader's own message below
        other = not_parquet(path)  # a CSV or gzip file named .parquet: said so, not "magic bytes"
        if other is not None:
            raise DataError(f"Data file {str(path)!r} is not Parquet: {other}.") from None
        return
    # Arrow refuses to read a file with a name twice, with a dump of its whole schema (25 lines
    # for German credit) ending in "Check that it is valid CSV or Parquet".
    repeated = sorted(name for name, k in Counter(schema.names).items() if k > 1)
    if repeated:
        raise DataError(f"Column {repeated[0]!r} appears more than once in {str(path)!r}"
                        + (f" (and {len(repeated) - 1} more name(s) repeat)" if len(repeated) > 1 else "")
                        + "; which one is meant cannot be told. Rename or drop the repeats when writing the file.")
    nested = [f"{field.name!r} ({field.type})" for field in schema
              if pa.types.is_nested(field.type) or (pa.types.is_dictionary(field.type) and
              pa.types.is_nested(field.type.value_type))]
    if nested:
        raise DataError(f"Data file {str(path)!r} has nested column(s) {', '.join(nested[:5])}; finlite reads flat "
                        "tables, one number or category per cell. Flatten them into plain columns or remove them "
                        "from the file (--drop cannot leave them out: the whole file is read, and its content hashed, "
                        "before columns are dropped).")
    # Every column is read (and hashed) whatever --drop says: the whole file is bounded.
    try:
        check_parquet_size(path)  # from the footer: before any row is read
        check_parquet_decoded(path)  # then what the rows decode to, a batch at a time
    except (pa.ArrowInvalid, OSError) as exc:  # a damaged page met by the decoding pass
        raise DataError(f"Cannot read {str(path)!r} as Parquet ({' '.join(str(exc).split())[:300]}): the file is "
                        "damaged or incomplete. Write it again (or copy it again from its source).") from exc


def _object_booleans(column: pd.Series) -> bool:
    """Whether an object column holds booleans and missing values only (at least one boolean)."""
    if not (isinstance(column.dtype, np.dtype) and column.dtype == object):
        return False
    try:
        present = column.notna().to_numpy()
    except decimal.InvalidOperation:  # Decimal('sNaN'): _check_flat_frame names it
        return False
    # The first value first: a text column is told apart without scanning it.
    return bool(present.any()) and isinstance(column.iloc[int(present.argmax())], (bool, np.bool_)) \
        and pd.api.types.infer_dtype(column, skipna=True) == "boolean"


def plain_types(frame: pd.DataFrame) -> pd.DataFrame:
    """A table read for training (:func:`read_table`) with the column types pandas cannot work on
    as their plain equivalents: Arrow views (:func:`without_views`); float16 as the float64 of
    the number it is written as (pandas has no float16 index: a bare ``NotImplementedError`` in
    training); and an object column of booleans (and missing values) as pandas' ``boolean``, a
    categorical as a ``bool`` column is (read as numbers it was refused, "send 1 or 0": a notebook
    walk-through, 2026-12-06). Each holds the same values. The frame itself when it has none."""
    out = without_views(frame)
    for position, dtype in enumerate(out.dtypes):
        half = isinstance(dtype, np.dtype) and dtype == np.float16
        if half or _object_booleans(out.iloc[:, position]):
            if out is frame:
                out = frame.copy(deep=False)
            column = out.iloc[:, position]
            # float16 as the number it is written as (0.787, not 0.78710938): the CSV written from a
            # float16 frame then hashes as the frame does (frame_sha256), as a float32 column does.
            out.isetitem(position, pd.to_numeric(column.astype(str)).to_numpy(np.float64) if half
                         else column.astype("boolean").array)
    return out


def without_views(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with Arrow view columns (``string_view``, ``binary_view``) as their plain types:
    pandas cannot factorize a view (a bare ``NotImplementedError`` above four rows), and a view
    holds the same values. The frame itself when it has none."""
    out = frame
    for position, dtype in enumerate(frame.dtypes):
        kind = getattr(dtype, "pyarrow_dtype", None)
        if kind is None:
            continue
        import pyarrow as pa

        plain = (pa.large_string() if getattr(pa.types, "is_string_view", lambda _: False)(kind) else
                 pa.large_binary() if getattr(pa.types, "is_binary_view", lambda _: False)(kind) else None)
        if plain is None:
            continue
        if out is frame:
            out = frame.copy(deep=False)
        # pandas' own astype fails on a view type too: the values are cast in Arrow.
        values = pa.chunked_array(frame.iloc[:, position].array.__arrow_array__()).cast(plain)
        out.isetitem(position, pd.arrays.ArrowExtensionArray(values))
    return out


def _check_flat_frame(frame: pd.DataFrame, source: str) -> None:
    """Refuse what a file could not hold either: column names that are not one piece of text, a
    name given twice, and object columns whose cells are lists, dicts or arrays (a cell must be
    one value) or a signalling NaN."""
    if isinstance(frame.columns, pd.MultiIndex):
        raise DataError(f"The columns of {source} have {frame.columns.nlevels} levels; finlite reads flat tables. "
                        "Join the levels into one name per column (e.g. frame.columns = ['_'.join(map(str, c)) for "
                        "c in frame.columns]).")
    names = [c for c in frame.columns if not isinstance(c, str)]
    if names:
        # A name 5 and the text '5' would be different columns here and the same one in a file.
        raise DataError(f"Column name {names[0]!r} of {source} is of type {type(names[0]).__name__}, not text; name every "
                        "column with text (e.g. frame.columns = frame.columns.map(str)).")
    repeated = sorted(c for c, k in Counter(frame.columns).items() if k > 1)
    if repeated:
        raise DataError(f"Column {repeated[0]!r} appears more than once in {source}; which one is meant cannot be "
                        "told. Rename or drop the repeats.")
    for column in [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c])]:
        try:
            values = frame[column].dropna()
        except decimal.InvalidOperation:  # Decimal('sNaN') refuses even to be compared
            # Its row, as every other refused value's (found only now: the refusal is the rare path).
            row = next(i for i, v in enumerate(frame[column].tolist())
                       if isinstance(v, decimal.Decimal) and v.is_snan())
            raise DataError(f"Column {column!r} of {source} holds a signalling NaN (Decimal('sNaN')) at row {row + 1}, "
                            "which is not a value; blank it (None) if it is missing.") from None
        first = values.iloc[0] if len(values) else None
        if isinstance(first, (list, tuple, dict, set, np.ndarray)):
            raise DataError(f"Column {str(column)!r} of {source} holds {type(first).__name__} values (e.g. row "
                            f"{values.index[0] + 1}); finlite reads flat tables, one number or category per cell. "
                            "Flatten the column into plain columns or remove it.")


def frame_sha256(frame: pd.DataFrame) -> str:
    """sha256 of a table's content (column names and values), independent of file format.

    The same rows read from CSV or Parquet give the same hash, so a student can be checked
    against its teacher's training data whichever format the user hands over.
    """
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    text = pd.DataFrame({i: _as_text(frame.iloc[:, i]) for i in range(frame.shape[1])})
    hashed = pd.util.hash_pandas_object(text, index=False).to_numpy()
    digest.update(np.ascontiguousarray(hashed).tobytes())
    return digest.hexdigest()


def _as_text(column: pd.Series) -> pd.Series:
    """``column.astype("string")``, value for value, converting each distinct number once.

    Converting every cell of a number column to text took 3.7 of the 4.1 s the hash of SBA's
    900,000 rows took; a column has far fewer distinct values. The text, and so the hash that
    artifacts record, is unchanged (a test holds the two equal). A float column holding -0.0 is
    converted cell by cell: factorising counts -0.0 and 0.0 as one value, which prints two ways.
    """
    values = column.to_numpy() if isinstance(column.dtype, np.dtype) else None
    if values is None or values.dtype.kind not in "iufb" or (
            values.dtype.kind == "f" and bool(np.any(np.signbit(values) & (values == 0)))):
        converted: pd.Series = column.astype("string").reset_index(drop=True)
        return converted
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    words = pd.array(uniques, dtype=values.dtype).astype("string")
    text: pd.Series = pd.Series(words.take(codes, allow_fill=True), dtype=words.dtype)
    return text
