"""Synthetic loan portfolios of any size, seeded and reproducible, written in constant memory.

One latent creditworthiness ``z ~ N(0, 1)`` per borrower drives correlated, plausibly
distributed features: age, income (lognormal), a FICO-like score, debt-to-income, revolving
utilisation, delinquencies, inquiries and open accounts (Poisson), home ownership and purpose
(categories whose mix moves with ``z``), term, amount, the lender's grade and interest rate, and
the issue month. The true probability of default is logistic in ``z`` plus two non-linear
effects (utilisation above 0.8, 60-month terms); its intercept is found by bisection so that the
portfolio's mean default rate hits the target (5 % by default), and the label ``defaulted`` is
drawn from it.

Reproducibility: rows are made in blocks of :data:`BLOCK_ROWS`, block ``b`` from its own random
stream ``SeedSequence([seed, b])``. Row ``i`` therefore depends only on the seed and ``i``: the
first 1,000 rows of a 10-million-row book are the 1,000-row book of the same seed, and the
chunk size used to write (or the number of threads) never changes a row. The intercept comes
from a fixed calibration sample, so it depends on the target rate only (the population), and
every seed draws a different sample of that population. With the same library versions the
same seed writes the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finlite import _limits, _paths
from finlite._util import check_flags
from finlite.errors import ConfigError, DataError

#: The column ``--with-pd`` adds: the true PD behind each label. Schema inference drops it (a
#: feature made of the answer), see :func:`finlite.data.schema.infer_schema`.
SYNTH_TRUE_PD = "pd_true"

__all__ = ["BLOCK_ROWS", "COLUMNS", "SynthSummary", "calibrate_intercept", "synth_portfolio", "write_portfolio"]

BLOCK_ROWS = 1 << 16
"""Rows per independently seeded block (fixed: changing it would change every book)."""

_CALIBRATION_SEED = 0x5EED_CA1B  # the calibration sample's stream, the same for every seed
_CALIBRATION_BLOCKS = 8  # 524,288 rows: the mean PD is known to about 1e-4 of the target
_MAX_ROWS = 10**10  # beyond this a typo is likelier than a portfolio (and the disk check follows)
_BYTES_PER_ROW = 24  # Parquet (snappy) bytes a row, with margin (18 measured at 10M rows), for the disk check

HOME = ("MORTGAGE", "RENT", "OWN", "OTHER")
PURPOSE = ("debt_consolidation", "credit_card", "home_improvement", "car", "major_purchase", "medical",
           "small_business", "other")
GRADE = ("A", "B", "C", "D", "E", "F", "G")
# Grade cut points on the lender's view of the borrower (a noisy z): shares about
# 17/29/27/15/8/3/1 % as in a consumer-lending book.
_GRADE_CUTS = np.array([0.95, 0.2, -0.4, -0.95, -1.5, -2.1])
_GRADE_RATE = np.array([7.0, 10.5, 14.0, 18.0, 22.0, 25.5, 28.5])  # base interest rate (%) per grade
_FIRST_MONTH = np.datetime64("2015-01", "M")
_MONTHS = 60  # issue months 2015-01 .. 2019-12

COLUMNS: tuple[tuple[str, str], ...] = (
    ("loan_id", "int64: row number from 1 (an id: dropped by schema inference)"),
    ("issue_month", "date: first day of the issue month, 2015-01 to 2019-12"),
    ("age", "int: borrower age in years, 18 to 85"),
    ("annual_income", "float: yearly income, lognormal (median about 55,000)"),
    ("credit_score", "int: FICO-like score, 300 to 850"),
    ("dti", "float: debt-to-income, % (0 to 60)"),
    ("revol_util", "float: revolving utilisation, 0 to 1.5 (above 0.8 carries extra risk)"),
    ("delinq_2y", "int: delinquencies in the last 2 years (Poisson)"),
    ("inquiries_6m", "int: credit inquiries in the last 6 months (Poisson)"),
    ("open_accounts", "int: open credit lines (Poisson, at least 1)"),
    ("home_ownership", "text: " + "/".join(HOME)),
    ("purpose", "text: " + "/".join(PURPOSE)),
    ("term_months", "int: 36 or 60 (60 carries extra risk)"),
    ("loan_amount", "float: amount lent, 1,000 to 40,000"),
    ("grade", "text: A (best) to G"),
    ("interest_rate", "float: %, by grade and term"),
    ("defaulted", "int: 1 = defaulted (the label), 0 = repaid"),
)


# -- one block of rows ---------------------------------------------------------------------------
def _rng(seed: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, block])))


def _pick(u: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Category index per row from uniforms ``u`` and per-row cumulative probabilities ``cum``
    (rows x categories, last column 1): the first category whose cumulative share exceeds u."""
    picked: np.ndarray = (u[:, None] >= cum[:, :-1]).sum(axis=1).astype(np.int8)
    return picked


def _features(rng: np.random.Generator, n: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The features of ``n`` borrowers and each one's logit of default without the intercept."""
    z = rng.standard_normal(n)  # creditworthiness: higher is safer
    e = rng.standard_normal((8, n))  # idiosyncratic noise, one row per feature
    u = rng.random((4, n))
    age = np.clip(np.rint(44.0 + 4.0 * z + 11.5 * e[0]), 18, 85)
    log_income = 10.9 + 0.25 * z + 0.04 * (age - 44.0) - 0.0006 * (age - 44.0) ** 2 + 0.45 * e[1]
    income = np.rint(np.exp(log_income) / 100.0) * 100.0
    score = np.clip(np.rint(695.0 + 55.0 * z + 35.0 * e[2]), 300, 850)
    dti = np.clip(18.0 - 4.0 * z + 8.0 * e[3], 0.0, 60.0).round(2)
    util = np.clip(1.1 / (1.0 + np.exp(0.55 * z - 0.65 * e[4] + 0.2)), 0.0, 1.5).round(3)
    # Counts: Poisson with a log-mean falling with creditworthiness.
    delinq = rng.poisson(np.exp(-1.7 - 0.75 * z))
    inquiries = rng.poisson(np.exp(-0.2 - 0.35 * z))
    open_accounts = 1 + rng.poisson(np.exp(2.2 + 0.08 * z + 0.004 * (age - 44.0)))
    # Home ownership: owners and mortgagors are older and better off.
    wealth = 0.05 * (age - 44.0) + 0.4 * z + 0.5 * (log_income - 10.9)
    p_mortgage = 1.0 / (1.0 + np.exp(-(wealth - 0.1)))
    p_own = 0.12 + 0.06 * np.tanh(wealth)
    home_cum = np.stack([0.9 * p_mortgage, 0.9 * p_mortgage + (1 - 0.9 * p_mortgage) * (1 - p_own - 0.02) * 0.93,
                         np.full(n, 0.99), np.ones(n)], axis=1)
    home_cum[:, 2] = np.maximum(home_cum[:, 2], home_cum[:, 1])
    home = _pick(u[0], home_cum)
    # Purpose: riskier borrowers borrow more for debt consolidation, medical bills and small businesses.
    base = np.array([0.50, 0.21, 0.07, 0.04, 0.04, 0.02, 0.02, 0.10])
    tilt = np.array([-0.08, 0.05, 0.03, 0.01, 0.01, -0.01, -0.01, 0.0])  # per unit of z
    weights = np.clip(base[None, :] + np.clip(z, -2, 2)[:, None] * tilt[None, :] * 0.5, 0.005, None)
    purpose_cum = np.cumsum(weights, axis=1)
    purpose_cum /= purpose_cum[:, -1:]
    purpose = _pick(u[1], purpose_cum)
    # Amount follows income; larger loans more often run 60 months.
    amount = np.clip(np.rint(income * np.exp(-1.75 + 0.35 * e[5]) / 25.0) * 25.0, 1000.0, 40000.0)
    long_term = u[2] < 0.1 + 0.45 * (amount / 40000.0)
    term = np.where(long_term, 60, 36)
    # The lender's grade: its own, noisy view of z (score, DTI and utilisation), cut into A-G.
    view = 0.82 * z + 0.45 * e[6]
    grade = (view[:, None] < _GRADE_CUTS[None, :]).sum(axis=1).astype(np.int8)
    rate = np.clip(_GRADE_RATE[grade] + 1.6 * long_term + 0.9 * e[7], 5.0, 31.0).round(2)
    month = (u[3] * _MONTHS).astype(np.int64)
    logit = (-1.0 * z + 0.8 * (util > 0.8) + 0.5 * long_term + 0.25 * (delinq > 1) + 0.15 * (purpose == 6))
    features = {
        "issue_month": month, "age": age, "annual_income": income, "credit_score": score, "dti": dti,
        "revol_util": util, "delinq_2y": delinq, "inquiries_6m": inquiries, "open_accounts": open_accounts,
        "home_ownership": home, "purpose": purpose, "term_months": term, "loan_amount": amount, "grade": grade,
        "interest_rate": rate,
    }
    return features, logit


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


@functools.lru_cache(maxsize=16)
def calibrate_intercept(default_rate: float = 0.05) -> float:
    """The intercept that makes the portfolio's mean probability of default ``default_rate``.

    Bisection on a fixed calibration sample of 524,288 borrowers (the population, the same for
    every seed): the mean PD rises monotonically with the intercept.
    """
    _check_rate(default_rate)
    logit = np.concatenate([_features(_rng(_CALIBRATION_SEED, b), BLOCK_ROWS)[1] for b in range(_CALIBRATION_BLOCKS)])
    low, high = -30.0, 30.0
    while high - low > 1e-10:  # the bracket halves each time: about 40 steps
        mid = 0.5 * (low + high)
        if _sigmoid(mid + logit).mean() < default_rate:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def _block_columns(seed: int, block: int, intercept: float, with_pd: bool) -> dict[str, np.ndarray]:
    rng = _rng(seed, block)
    features, logit = _features(rng, BLOCK_ROWS)
    pd_true = _sigmoid(intercept + logit)
    label = rng.random(BLOCK_ROWS) < pd_true
    columns = {"loan_id": np.arange(block * BLOCK_ROWS + 1, (block + 1) * BLOCK_ROWS + 1, dtype=np.int64), **features,
               "defaulted": label.astype(np.int8)}
    if with_pd:
        columns[SYNTH_TRUE_PD] = pd_true.astype(np.float32)
    return columns


_FLOAT = ("annual_income", "dti", "revol_util", "loan_amount", "interest_rate")
_INT16 = ("age", "credit_score", "delinq_2y", "inquiries_6m", "open_accounts", "term_months")
_TEXT = {"home_ownership": HOME, "purpose": PURPOSE, "grade": GRADE}


def _to_arrow(columns: dict[str, np.ndarray], lo: int, hi: int) -> Any:
    """Rows ``lo:hi`` of numpy columns as an Arrow table (categories as dictionary arrays)."""
    import pyarrow as pa

    arrays: dict[str, pa.Array[Any]] = {}
    for name, values in columns.items():
        part = values[lo:hi]
        if name in _TEXT:
            arrays[name] = pa.DictionaryArray.from_arrays(pa.array(part, pa.int8()), pa.array(_TEXT[name]))
        elif name == "issue_month":
            days = (_FIRST_MONTH + part.astype("timedelta64[M]")).astype("datetime64[D]")
            arrays[name] = pa.array(days, pa.date32())
        elif name in _FLOAT or name == SYNTH_TRUE_PD:
            arrays[name] = pa.array(part.astype(np.float32))
        elif name in _INT16:
            arrays[name] = pa.array(part.astype(np.int16))
        else:
            arrays[name] = pa.array(part)
    return pa.table(arrays)


def _table(seed: int, start: int, stop: int, intercept: float, with_pd: bool) -> Any:
    """Rows ``start:stop`` (0-based) of the book of ``seed``, whatever blocks they span."""
    import pyarrow as pa

    parts = []
    for block in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1):
        columns = _block_columns(seed, block, intercept, with_pd)
        base = block * BLOCK_ROWS
        parts.append(_to_arrow(columns, max(start, base) - base, min(stop, base + BLOCK_ROWS) - base))
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


# -- checks ---------------------------------------------------------------------------------------
def _check_rate(default_rate: float) -> None:
    _limits.check_finite(default_rate, "default_rate", low=0.001, high=0.5)


def _check(rows: Any, seed: Any, default_rate: Any, chunk_rows: Any) -> None:
    # The advice fits the side it was refused on (a book of 1e11 rows was told to ask for one row).
    big = _limits._is_int(rows) and rows > _MAX_ROWS
    rows = _limits.check_count(rows, "rows", high=_MAX_ROWS,
                               fix="Write a larger book in parts, each with its own --seed." if big else
                               "Ask for a portfolio of at least one row.")
    seed = _limits.check_seed(seed)
    _check_rate(default_rate)
    chunk_rows = _limits.check_count(chunk_rows, "chunk_rows", high=1 << 24,
                        fix="Rows generated and written at a time; the default is 262144.")


# -- public API -----------------------------------------------------------------------------------
def synth_portfolio(rows: int, *, seed: int = 0, default_rate: float = 0.05, with_pd: bool = False) -> Any:
    """A synthetic portfolio of ``rows`` loans as a pandas DataFrame (in memory: for samples;
    write big books with :func:`write_portfolio`).

    Columns are :data:`COLUMNS` (``defaulted`` is the label, 1 = default); ``with_pd`` adds
    ``pd_true``, the probability of default each label was drawn from.

    Raises:
        ConfigError: ``rows``, ``seed`` or ``default_rate`` is out of range.
    """
    check_flags("synth_portfolio", with_pd=with_pd)
    _check(rows, seed, default_rate, 1)
    _limits.check_memory(rows * 120, f"{rows:,} rows in memory", "write the book to a file with write_portfolio "
                         "(finlite datasets synth), which holds one chunk at a time")
    table = _table(seed, 0, rows, calibrate_intercept(default_rate), with_pd)
    return _plain(table).to_pandas()  # text columns as text, as a reader of the written file sees them


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`write_portfolio` wrote."""

    rows: int
    defaults: int
    seconds: float
    output: Path
    bytes: int
    intercept: float

    @property
    def default_rate(self) -> float:
        """The realised share of defaulted loans."""
        return self.defaults / self.rows if self.rows else 0.0


def write_portfolio(out: str | os.PathLike[str], rows: int, *, seed: int = 0, default_rate: float = 0.05,
                    chunk_rows: int = 1 << 18, with_pd: bool = False, overwrite: bool = False,
                    threads: int | None = None, progress: Callable[[int], object] | None = None) -> SynthSummary:
    """Write a synthetic portfolio of ``rows`` loans to ``out`` (.parquet, or .csv), chunk by chunk.

    Memory stays flat (a few chunks of ``chunk_rows`` rows are held at once); chunks are made on
    ``threads`` threads (default: every core) and written in order. The file is written under a
    temporary name beside ``out`` and renamed into place when complete, so ``out`` never holds
    a partial book. ``progress`` is called with the rows written after each chunk.

    Raises:
        ConfigError: an option is out of range, or the disk (or memory, for the chunks) has too
            little room for the book.
        DataError: ``out`` exists and ``overwrite`` is false, is not a regular file, or has a
            suffix other than .parquet, .pq or .csv.
    """
    check_flags("write_portfolio", with_pd=with_pd, overwrite=overwrite)
    _check(rows, seed, default_rate, chunk_rows)
    if threads is not None:
        threads = _limits.check_count(threads, "threads", high=256, fix="One thread per core is the most that helps.")
    dst = Path(out)
    name = dst.name.lower()
    if name.endswith((".parquet", ".pq")):
        kind = "parquet"
    elif name.endswith(".csv"):
        kind = "csv"
    elif str(out).strip() in ("", "."):  # -o "" arrives as Path(""), which is ".": no file type to speak of
        raise DataError(f"out={str(out)!r} names no file (it is empty, or the current folder); name the output "
                        "file, ending in .parquet (or .csv).", param="out")
    else:
        raise DataError(f"out={str(dst)!r} has an unknown file type; the output must end in .parquet (or .csv).",
                        param="out")
    _paths.check_replaceable_file(dst, overwrite=overwrite, option="out")
    _paths.check_writable_file(dst, "out")  # before the disk-space check, which would blame --rows
    workers = max(1, min(threads or _limits.available_cores(), 8))
    # workers + 1 chunks in flight, each held as numpy blocks and as Arrow columns (about 120 bytes a row).
    _limits.check_memory(min(chunk_rows, rows) * 120 * (workers + 2), f"--chunk-rows {chunk_rows:,}",
                         "use a smaller --chunk-rows (the default is 262144) or fewer --threads")
    # Folders made for the output are removed again if the run fails (they were left: a review,
    # 2026-12-04), as score's are.
    made = _paths.make_parents(dst)
    writer: Any = None
    tmp: Path | None = None
    written = defaults = 0
    try:
        _paths.clean_file_leftovers(dst.parent, dst.name)
        free = _free_disk(dst.parent)
        need = rows * (_BYTES_PER_ROW * (3 if kind == "csv" else 1))
        if free is not None and need > free:
            raise ConfigError(f"A book of {rows:,} rows needs about {_limits.format_bytes(need)} at {str(dst)!r}, "
                              f"but only {_limits.format_bytes(free)} is free there; ask for fewer rows or write "
                              "elsewhere.", param="rows")
        start = time.perf_counter()
        intercept = calibrate_intercept(default_rate)
        tmp = _paths.new_temp_file(dst)
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        spans = [(lo, min(rows, lo + chunk_rows)) for lo in range(0, rows, chunk_rows)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="finlite-synth") as pool:
            pending: list[Future[Any]] = []
            spans_iter = iter(spans)
            for lo, hi in spans_iter:  # a bounded window: at most workers + 1 chunks in memory
                pending.append(pool.submit(_table, seed, lo, hi, intercept, with_pd))
                if len(pending) > workers:
                    break
            while pending:
                table = pending.pop(0).result()
                nxt = next(spans_iter, None)
                if nxt is not None:
                    pending.append(pool.submit(_table, seed, nxt[0], nxt[1], intercept, with_pd))
                if writer is None:
                    if kind == "parquet":
                        # No Arrow schema in the file: readers see plain text columns, not dictionaries.
                        writer = pq.ParquetWriter(tmp, table.schema, store_schema=False)
                    else:
                        writer = pacsv.CSVWriter(tmp, _plain(table).schema)
                writer.write_table(table if kind == "parquet" else _plain(table))
                written += table.num_rows
                defaults += int(np.count_nonzero(table.column("defaulted").to_numpy()))
                _paths.kill_point("synth-writing")
                if progress is not None:
                    progress(written)
        writer.close()
        writer = None
        _paths.fsync_file(tmp)
        _paths.keep_mode(tmp, dst)
        _paths.place_file(tmp, dst, overwrite=overwrite)
        _paths.fsync_dir(dst.parent)
    except BaseException:
        if writer is not None:
            # The original failure matters, not one from closing the half-written file.
            with contextlib.suppress(Exception):
                writer.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        _paths.remove_made(made)
        raise
    return SynthSummary(written, defaults, time.perf_counter() - start, dst, dst.stat().st_size, intercept)


def _plain(table: Any) -> Any:
    """Dictionary columns as plain text (the CSV writer takes no dictionaries; pandas would make
    them categoricals)."""
    import pyarrow as pa

    return pa.table({n: (c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c)
                     for n, c in zip(table.column_names, table.columns, strict=True)})


def _free_disk(folder: Path) -> int | None:
    import shutil

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
