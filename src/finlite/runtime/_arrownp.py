"""Arrow arrays to numpy and back through their buffers, without pandas.

pyarrow's own conversions (``Array.to_numpy``, ``pa.array(ndarray)``, ``pa.array(list)``) import
pandas the first time they run, when it is installed: about 0.17 s of a ``finlite score``
process, nearly a tenth of scoring ten million rows. The batch path needs only fixed-width
numbers, booleans and short lists of text, whose Arrow layout is a validity bitmap plus one data
buffer (or offsets and bytes for text), so it reads and writes those buffers directly.

Results equal pyarrow's conversions (a test holds them equal): a null is NaN in a floating
array, as pyarrow gives it; in a boolean array it is False (pyarrow returns an object array
holding None there); an integer array with nulls is refused, as the callers fill or mask nulls
first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["from_numpy", "null", "plain_views", "scalar", "strings", "to_numpy"]

# Arrow type name -> numpy dtype of its data buffer (fixed-width numbers only).
_DTYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
           "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
           "halffloat": np.float16, "float": np.float32, "double": np.float64}


def _bits(buffer: Any, offset: int, n: int) -> np.ndarray:
    """``n`` bits of an Arrow bitmap from bit ``offset`` (least significant bit first) as bools."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, count=offset + n, bitorder="little")[offset:].astype(bool)


def to_numpy(array: Any, *, copy: bool = True) -> np.ndarray:
    """A pyarrow Array or ChunkedArray of fixed-width numbers or booleans as a numpy array: a
    new, writable one, or with ``copy=False`` a read-only view of Arrow's buffer where there is
    one (numbers without nulls).

    Nulls become NaN in a floating array and False in a boolean one.

    Raises:
        TypeError: another type (text, dictionary, nested), or an integer array with nulls.
    """
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    kind, n, offset = array.type, len(array), array.offset
    buffers = array.buffers()
    if pa.types.is_boolean(kind):
        flags = _bits(buffers[1], offset, n) if n else np.zeros(0, dtype=bool)
        if array.null_count:
            flags &= _bits(buffers[0], offset, n)
        return flags
    dtype = _DTYPES.get(str(kind))
    if dtype is None:
        raise TypeError(f"to_numpy reads fixed-width numbers and booleans, not {kind}")
    if array.null_count and not pa.types.is_floating(kind):
        raise TypeError(f"an {kind} array with nulls has no numpy equivalent; fill the nulls first")
    if n == 0:
        return np.zeros(0, dtype=dtype)
    values = np.frombuffer(buffers[1], dtype=dtype, count=n, offset=offset * np.dtype(dtype).itemsize)
    if array.null_count:
        values = values.copy()
        values[~_bits(buffers[0], offset, n)] = np.nan
    elif copy:
        values = values.copy()
    return values


def from_numpy(values: np.ndarray, kind: Any) -> Any:
    """A 1-D numpy array of numbers (or bools) as a pyarrow Array of type ``kind`` with no nulls
    (zero-copy when ``values`` already has that type and is contiguous; the Array keeps it alive)."""
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        flags = np.asarray(values, dtype=bool)
        if flags.ndim != 1:
            raise ValueError(f"from_numpy takes a 1-D array; got shape {flags.shape}")
        bits = np.packbits(flags, bitorder="little")
        return pa.Array.from_buffers(kind, len(flags), [None, pa.py_buffer(bits)])  # type: ignore[arg-type]
    dtype = _DTYPES.get(str(kind))
    if dtype is None:
        raise TypeError(f"from_numpy writes fixed-width numbers and booleans, not {kind}")
    data = np.ascontiguousarray(values, dtype=dtype)
    if data.ndim != 1:
        raise ValueError(f"from_numpy takes a 1-D array; got shape {data.shape}")
    return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])  # type: ignore[arg-type]


def strings(texts: list[str], kind: Any = None) -> Any:
    """A list of str as a pyarrow ``string`` Array (``large_string`` when ``kind`` says so or past
    2 GiB of text)."""
    import pyarrow as pa

    encoded = [t.encode("utf-8") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    large = (kind is not None and pa.types.is_large_string(kind)) or (bool(len(ends)) and int(ends[-1]) >= 2**31)
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), ends]).astype(np.int64 if large else np.int32)
    return pa.Array.from_buffers(pa.large_string() if large else pa.string(), len(texts),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])  # type: ignore[arg-type]


def scalar(value: float | bool | str, kind: Any) -> Any:
    """A pyarrow Scalar of type ``kind`` (a number, boolean or text type). ``pa.scalar`` would
    import pandas, and so would a plain Python value given to a compute function, which converts
    it with ``pa.scalar``."""
    import pyarrow as pa

    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return strings([str(value)], kind)[0]
    return from_numpy(np.array([value]), kind)[0]


def null(kind: Any) -> Any:
    """The null Scalar of type ``kind``."""
    import pyarrow as pa

    return pa.nulls(1, kind)[0]


def _plain_type(kind: Any, pa: Any) -> Any:
    """``kind`` with text views as plain text (a dictionary's values too), or None when it has none."""
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    if is_view(kind):
        return pa.string()
    if pa.types.is_dictionary(kind) and is_view(kind.value_type):
        return pa.dictionary(kind.index_type, pa.string())
    return None


def plain_views(batch: Any) -> Any:
    """A record batch or table with its ``string_view`` columns (Arrow's text views, which a
    Parquet file written from them keeps) cast to plain ``string``, dictionaries of them too:
    several Arrow kernels the batch path uses (take, casts from a dictionary) have none for views.
    The batch itself when it has none."""
    import pyarrow as pa

    plain = [_plain_type(field.type, pa) for field in batch.schema]
    if all(kind is None for kind in plain):
        return batch
    columns = [column if kind is None else column.cast(kind) for column, kind in zip(batch.columns, plain, strict=True)]
    fields = [field if kind is None else field.with_type(kind) for field, kind in zip(batch.schema, plain, strict=True)]
    return type(batch).from_arrays(columns, schema=pa.schema(fields, metadata=batch.schema.metadata))
