"""Batch scoring's encoder fill, compiled to machine code with llvmlite.

A worker of ``finlite score`` reads and checks a chunk column by column
(:meth:`finlite.runtime.encoder.Encoder.prepare_arrow`), then writes the model's input matrix a
block of rows at a time (:meth:`finlite.runtime._fastenc.ArrowRows.fill`): zeros, each number
column standardised, a 1.0 per one-hot field, each valued field's number (weight of evidence,
target encoding). With numpy that is a dozen calls per block, most of them holding the GIL, and
on 10 M rows of German credit's schema it was the largest part of the command's CPU time. Here
the same writes are one compiled loop per block that releases the GIL while it runs: 10 M German
rows scored in 1.86-1.92 s instead of 2.69-2.74 (CPU 3.1-3.2 s instead of 4.5), SBA's in
2.35-2.37 s instead of 2.46-2.61 (``bench/scoring.py``, the code before and after alternated,
2-core AMD EPYC; the same output files).

Why llvmlite and not numba (which finlite already uses for the market features): numba compiles
in memory per process (its disk cache is pickle files, which finlite never loads), and its first
compile costs 0.6-0.8 s, a third of the scoring run it would speed up. The kernel below is LLVM
IR (about 300 lines, generated from a few templates) that llvmlite (numba's own back end,
installed with it) compiles in about 0.03 s, plus about 0.06 s to import llvmlite, once per
process, on a thread of its own (:func:`compile_in_background`), and only for a job large enough
to pay for it: a file of a million rows (``batch._pays_to_compile``), a DataFrame of
:data:`WORTH_ROWS` rows, a Ray actor.

The same module compiles two helpers of the chunk's preparation: the count of a field's unseen
rows (:func:`count_flags`) and the lookup of a plain text column's values in the training keys
(:func:`text_codes`, byte for byte in an open-addressing table: a DataFrame's 13 text columns of
100,000 German rows took 14 ms through Arrow's ``dictionary_encode`` and take about 6 ms).

The kernel writes exactly what numpy writes: 0.0, ``(v - mean) / std`` computed in double and
rounded to float32 (as the record path rounds its row), 1.0, and ``float32(table[code])``, with
each code clipped into its lookup as ``np.take(..., mode="clip")`` does (hypothesis tests hold
the kernel and numpy equal bit for bit). It never reads or writes outside the arrays it is given:
:class:`Plans` checks every array and column number once per chunk, and :func:`fill` the block
before each call. Until the kernel is compiled, or where llvmlite is missing or cannot compile
for this CPU, numpy writes the same cells.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ENV_SWITCH", "NO_KERNEL", "WORTH_ROWS", "Plans", "TextTable", "compile_in_background", "compiled",
           "count_flags", "fill", "kernel", "text_codes", "text_hash"]

#: Rows of a DataFrame from which a Predictor starts compiling the kernel (about 0.1 s of CPU with
#: llvmlite's import, on a thread of its own; numpy fills the blocks until it is ready): numpy
#: fills 65,536 German rows in about 5 ms, so the compile pays only over a few such calls, which is
#: what a program scoring frames this large makes (a notebook's or a batch job's loop).
WORTH_ROWS = 65_536

# fill_block writes its rows a tile at a time (every column of 256 rows, then the next 256): 256 x
# 72 float32 (German credit's width) is 74 KB, which stays in the core's L2 cache while each number
# column and one-hot field writes its cell of every row; a field at a time over a whole 8,192-row
# block went out to L3 thirteen times (the fill took 0.39 instead of 0.34 s per 10 M German rows).
_TILE = 256

# Codes arrive as Arrow's dictionary indices (int8 to int64) or as int64 searches; each width
# gets its own loop, so no row pays for a branch on the type.
_CODE_TYPES = {1: "i8", 2: "i16", 4: "i32", 8: "i64"}

#: Descriptor columns (int64) of a one-hot field: its codes' address, their bytes, its lookup's
#: address (int64 output columns), the lookup's length.
ONE_HOT_SLOTS = 4
#: Descriptor columns (int64) of a valued field (weight of evidence, target encoding): its codes'
#: address, their bytes, its table's address (float64 values), the table's length, the output column.
VALUED_SLOTS = 5
#: Descriptor columns (int64) of a number column: its rows' address, the output column, the mean
#: and the standard deviation (float64 bit patterns), and the rows' type (0: float64, 1: int64).
NUMBER_SLOTS = 5


def _number_loop(kind: str) -> str:
    """The IR of one number column's rows, float64 (``kind`` "f64") or int64 ("i64": each
    converted to the nearest double, as numpy's astype converts it), writing each row's
    ``float((v - mean) / std)`` at the column's cell, then branching to ``number_end``. Four rows
    go at a time, through one vector subtraction and division (the scalar division bounded the
    loop: 0.135 -> 0.085 s for 11 columns of 10 M rows), then the rows left one at a time."""
    elt = "double" if kind == "f64" else "i64"

    def as_double(name: str, lanes: str) -> tuple[str, str]:
        """The value(s) loaded as ``%{name}.raw``, as double: (its name, the IR converting it)."""
        raw = f"%{name}.raw.{kind}"
        if kind == "f64":  # already double: the raw load is the value
            return raw, ""
        return f"%{name}.{kind}", f"  %{name}.{kind} = sitofp {lanes}i64{'>' if lanes else ''} {raw} to " \
                                  f"{lanes}double{'>' if lanes else ''}\n"
    quad, quad_convert = as_double("qv", "<4 x ")
    one, one_convert = as_double("v", "")
    stores = "".join(f"  %qd{i}.{kind} = getelementptr float, ptr %qd{i - 1}.{kind}, i64 %width\n"
                     f"  %qf{i}.{kind} = extractelement <4 x float> %qf.{kind}, i64 {i}\n"
                     f"  store float %qf{i}.{kind}, ptr %qd{i}.{kind}\n" for i in range(1, 4))
    return f"""start.{kind}:
  %has4.{kind} = icmp sgt i64 %m4, 0
  br i1 %has4.{kind}, label %quad.{kind}, label %tail.{kind}
quad.{kind}:
  %q.{kind} = phi i64 [0, %start.{kind}], [%q.{kind}.next, %quad.{kind}]
  %q.at.{kind} = add i64 %lo, %q.{kind}
  %qp.{kind} = getelementptr {elt}, ptr %rows_c, i64 %q.at.{kind}
  %qv.raw.{kind} = load <4 x {elt}>, ptr %qp.{kind}, align 8
{quad_convert}  %qc.{kind} = fsub <4 x double> {quad}, %mean.4
  %qs.{kind} = fdiv <4 x double> %qc.{kind}, %std.4
  %qf.{kind} = fptrunc <4 x double> %qs.{kind} to <4 x float>
  %q.base.{kind} = mul i64 %q.{kind}, %width
  %q.cell.{kind} = add i64 %q.base.{kind}, %col
  %qd0.{kind} = getelementptr float, ptr %out, i64 %q.cell.{kind}
  %qf0.{kind} = extractelement <4 x float> %qf.{kind}, i64 0
  store float %qf0.{kind}, ptr %qd0.{kind}
{stores}  %q.{kind}.next = add i64 %q.{kind}, 4
  %q.more.{kind} = icmp slt i64 %q.{kind}.next, %m4
  br i1 %q.more.{kind}, label %quad.{kind}, label %tail.{kind}
tail.{kind}:
  %has_tail.{kind} = icmp slt i64 %m4, %m
  br i1 %has_tail.{kind}, label %row.{kind}, label %number_end
row.{kind}:
  %nr.{kind} = phi i64 [%m4, %tail.{kind}], [%nr.{kind}.next, %row.{kind}]
  %s_at.{kind} = add i64 %lo, %nr.{kind}
  %sp.{kind} = getelementptr {elt}, ptr %rows_c, i64 %s_at.{kind}
  %v.raw.{kind} = load {elt}, ptr %sp.{kind}
{one_convert}  %centred.{kind} = fsub double {one}, %mean
  %scaled.{kind} = fdiv double %centred.{kind}, %std
  %f.{kind} = fptrunc double %scaled.{kind} to float
  %d_base.{kind} = mul i64 %nr.{kind}, %width
  %d_at.{kind} = add i64 %d_base.{kind}, %col
  %dp.{kind} = getelementptr float, ptr %out, i64 %d_at.{kind}
  store float %f.{kind}, ptr %dp.{kind}
  %nr.{kind}.next = add i64 %nr.{kind}, 1
  %nr.more.{kind} = icmp slt i64 %nr.{kind}.next, %m
  br i1 %nr.more.{kind}, label %row.{kind}, label %number_end
"""


def _slot(table: str, row: str, n: int, name: str, kind: str = "i64") -> str:
    """The IR loading slot ``n`` of the descriptor row starting at ``%row`` of the int64 table
    ``%table`` into ``%name``, read as ``kind`` (a double's bits are stored in an int64 slot)."""
    return (f"  %{name}.at = add i64 %{row}, {n}\n"
            f"  %{name}.p = getelementptr i64, ptr %{table}, i64 %{name}.at\n"
            f"  %{name} = load {kind}, ptr %{name}.p\n")


def _coded_fields(kind: str, slots: int, then: str) -> str:
    """The IR of the loop over one kind of coded field ("one": one-hot, "value": valued), then a
    branch to ``then``. Field j's descriptor is row j of ``%{kind}s`` (``slots`` int64 each); each
    row r reads code ``c = clip(codes[lo + r], 0, length - 1)`` and writes 1.0 at column
    ``lookup[c]`` (one) or ``float(table[c])`` at the field's column (value)."""
    loops = []
    for bits in _CODE_TYPES.values():
        p = f"{kind}_{bits}"
        read = (f"  %code.{p} = load i64, ptr %cp.{p}\n" if bits == "i64" else  # signed, as numpy reads them
                f"  %c.{p} = load {bits}, ptr %cp.{p}\n  %code.{p} = sext {bits} %c.{p} to i64\n")
        if kind == "one":
            write = (f"  %tp.{p} = getelementptr i64, ptr %table.{kind}, i64 %idx.{p}\n"
                     f"  %col.{p} = load i64, ptr %tp.{p}\n"
                     f"  %cell.{p} = add i64 %base.{p}, %col.{p}\n"
                     f"  %op.{p} = getelementptr float, ptr %out, i64 %cell.{p}\n"
                     f"  store float 1.0, ptr %op.{p}\n")
        else:
            write = (f"  %tp.{p} = getelementptr double, ptr %table.{kind}, i64 %idx.{p}\n"
                     f"  %v.{p} = load double, ptr %tp.{p}\n"
                     f"  %f.{p} = fptrunc double %v.{p} to float\n"
                     f"  %cell.{p} = add i64 %base.{p}, %column.{kind}\n"
                     f"  %op.{p} = getelementptr float, ptr %out, i64 %cell.{p}\n"
                     f"  store float %f.{p}, ptr %op.{p}\n")
        loops.append(f"""
start.{p}:
  br label %loop.{p}
loop.{p}:
  %r.{p} = phi i64 [0, %start.{p}], [%r.{p}.next, %loop.{p}]
  %at.{p} = add i64 %lo, %r.{p}
  %cp.{p} = getelementptr {bits}, ptr %codes.{kind}, i64 %at.{p}
{read}  %neg.{p} = icmp slt i64 %code.{p}, 0
  %low.{p} = select i1 %neg.{p}, i64 0, i64 %code.{p}
  %over.{p} = icmp sgt i64 %low.{p}, %last.{kind}
  %idx.{p} = select i1 %over.{p}, i64 %last.{kind}, i64 %low.{p}
  %base.{p} = mul i64 %r.{p}, %width
{write}  %r.{p}.next = add i64 %r.{p}, 1
  %more.{p} = icmp slt i64 %r.{p}.next, %m
  br i1 %more.{p}, label %loop.{p}, label %next.{kind}
""")

    def slot(n: int, name: str) -> str:
        return _slot(f"{kind}s", f"row.{kind}", n, f"{name}.{kind}")
    column = slot(4, "column") if kind == "value" else ""
    return f"""
fields.{kind}:
  %has.{kind} = icmp sgt i64 %n_{kind}s, 0
  br i1 %has.{kind}, label %field.{kind}, label %{then}
field.{kind}:
  %j.{kind} = phi i64 [0, %fields.{kind}], [%j.{kind}.next, %next.{kind}]
  %row.{kind} = mul i64 %j.{kind}, {slots}
{slot(0, "codes_at")}  %codes.{kind} = inttoptr i64 %codes_at.{kind} to ptr
{slot(1, "bytes")}{slot(2, "table_at")}  %table.{kind} = inttoptr i64 %table_at.{kind} to ptr
{slot(3, "length")}  %last.{kind} = sub i64 %length.{kind}, 1
{column}  switch i64 %bytes.{kind}, label %start.{kind}_i64 [ i64 1, label %start.{kind}_i8
                                                 i64 2, label %start.{kind}_i16
                                                 i64 4, label %start.{kind}_i32 ]
{"".join(loops)}
next.{kind}:
  %j.{kind}.next = add i64 %j.{kind}, 1
  %j.{kind}.more = icmp slt i64 %j.{kind}.next, %n_{kind}s
  br i1 %j.{kind}.more, label %field.{kind}, label %{then}
"""


# fill_block(out, m, width, lo, numbers, n_numbers, ones, n_ones, values, n_values) writes rows
# lo .. lo + m - 1 of a chunk into ``out`` (float32 (m, width), C order): zeros, then each number
# column's (v - mean) / std (computed in double, rounded to float), then each one-hot field's 1.0,
# then each valued field's value (rounded to float); each kind's descriptors are int64 rows
# (NUMBER_SLOTS, ONE_HOT_SLOTS, VALUED_SLOTS). It is called once per block and walks the block a
# tile of _TILE rows at a time (fill_tile, inlined).
_IR = """
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)

define void @fill_block(ptr noalias %out, i64 %m, i64 %width, i64 %lo, ptr noalias %numbers, i64 %n_numbers,
                        ptr noalias %ones, i64 %n_ones, ptr noalias %values, i64 %n_values) nounwind {
entry:
  %some = icmp sgt i64 %m, 0
  br i1 %some, label %tile, label %end
tile:
  %t = phi i64 [0, %entry], [%t.next, %tile]
  %t.next = add i64 %t, TILE
  %past = icmp sgt i64 %t.next, %m
  %t.rows = sub i64 %m, %t
  %tm = select i1 %past, i64 %t.rows, i64 TILE
  %t.cells = mul i64 %t, %width
  %t.out = getelementptr float, ptr %out, i64 %t.cells
  %t.lo = add i64 %lo, %t
  call void @fill_tile(ptr %t.out, i64 %tm, i64 %width, i64 %t.lo, ptr %numbers, i64 %n_numbers, ptr %ones,
                       i64 %n_ones, ptr %values, i64 %n_values)
  %more = icmp slt i64 %t.next, %m
  br i1 %more, label %tile, label %end
end:
  ret void
}

define internal void @fill_tile(ptr noalias %out, i64 %m, i64 %width, i64 %lo, ptr noalias %numbers,
                                i64 %n_numbers, ptr noalias %ones, i64 %n_ones, ptr noalias %values,
                                i64 %n_values) nounwind {
entry:
  %cells = mul i64 %m, %width
  %size = shl i64 %cells, 2
  call void @llvm.memset.p0.i64(ptr %out, i8 0, i64 %size, i1 false)
  %has_numbers = icmp sgt i64 %n_numbers, 0
  br i1 %has_numbers, label %number, label %fields.one

number:
  %c = phi i64 [0, %entry], [%c.next, %number_end]
  %nrow = mul i64 %c, NUMBER_SLOTS
NUMBER_DESCRIPTOR  %mean.1 = insertelement <4 x double> poison, double %mean, i64 0
  %mean.4 = shufflevector <4 x double> %mean.1, <4 x double> poison, <4 x i32> zeroinitializer
  %std.1 = insertelement <4 x double> poison, double %std, i64 0
  %std.4 = shufflevector <4 x double> %std.1, <4 x double> poison, <4 x i32> zeroinitializer
  %m4 = and i64 %m, -4
  %integers = icmp ne i64 %kind, 0
  br i1 %integers, label %start.i64, label %start.f64
NUMBER_LOOPS
number_end:
  %c.next = add i64 %c, 1
  %c.more = icmp slt i64 %c.next, %n_numbers
  br i1 %c.more, label %number, label %fields.one
""" + _coded_fields("one", ONE_HOT_SLOTS, "fields.value") + _coded_fields("value", VALUED_SLOTS, "done") + """
done:
  ret void
}
"""
# A number column's descriptor: its rows' address, output column, mean, std and rows' type.
_NUMBER_DESCRIPTOR = (_slot("numbers", "nrow", 0, "vpa") + "  %rows_c = inttoptr i64 %vpa to ptr\n"
                      + _slot("numbers", "nrow", 1, "col") + _slot("numbers", "nrow", 2, "mean", "double")
                      + _slot("numbers", "nrow", 3, "std", "double") + _slot("numbers", "nrow", 4, "kind"))
_IR = _IR.replace("NUMBER_DESCRIPTOR", _NUMBER_DESCRIPTOR).replace(
    "NUMBER_LOOPS", _number_loop("f64") + _number_loop("i64")).replace(
    "NUMBER_SLOTS", str(NUMBER_SLOTS)).replace("TILE", str(_TILE))


def _count_ir() -> str:
    """``count_flags(codes, bytes, n, flags, length)``: how many of ``n`` codes (``bytes`` wide,
    signed) have a nonzero flag byte in ``flags`` (``length`` bytes), each code clipped into it:
    the unseen count of a field (:func:`count_flagged`) in one pass, with no index cast, gather
    or mask array."""
    loops, ends = [], []
    for bits in _CODE_TYPES.values():
        read = (f"  %code.{bits} = load i64, ptr %cp.{bits}\n" if bits == "i64" else
                f"  %c.{bits} = load {bits}, ptr %cp.{bits}\n  %code.{bits} = sext {bits} %c.{bits} to i64\n")
        loops.append(f"""start.{bits}:
  br i1 %some, label %loop.{bits}, label %done
loop.{bits}:
  %r.{bits} = phi i64 [0, %start.{bits}], [%r.{bits}.next, %loop.{bits}]
  %sum.{bits} = phi i64 [0, %start.{bits}], [%sum.{bits}.next, %loop.{bits}]
  %cp.{bits} = getelementptr {bits}, ptr %codes, i64 %r.{bits}
{read}  %neg.{bits} = icmp slt i64 %code.{bits}, 0
  %low.{bits} = select i1 %neg.{bits}, i64 0, i64 %code.{bits}
  %over.{bits} = icmp sgt i64 %low.{bits}, %last
  %idx.{bits} = select i1 %over.{bits}, i64 %last, i64 %low.{bits}
  %fp.{bits} = getelementptr i8, ptr %flags, i64 %idx.{bits}
  %flag.{bits} = load i8, ptr %fp.{bits}
  %set.{bits} = icmp ne i8 %flag.{bits}, 0
  %one.{bits} = zext i1 %set.{bits} to i64
  %sum.{bits}.next = add i64 %sum.{bits}, %one.{bits}
  %r.{bits}.next = add i64 %r.{bits}, 1
  %more.{bits} = icmp slt i64 %r.{bits}.next, %n
  br i1 %more.{bits}, label %loop.{bits}, label %done
""")
        ends.append(f"[0, %start.{bits}], [%sum.{bits}.next, %loop.{bits}]")
    return f"""
define i64 @count_flags(ptr noalias %codes, i64 %bytes, i64 %n, ptr noalias %flags, i64 %length) nounwind {{
entry:
  %last = sub i64 %length, 1
  %some = icmp sgt i64 %n, 0
  switch i64 %bytes, label %start.i64 [ i64 1, label %start.i8
                                         i64 2, label %start.i16
                                         i64 4, label %start.i32 ]
{"".join(loops)}done:
  %total = phi i64 {", ".join(ends)}
  ret i64 %total
}}
"""


_IR += _count_ir()

#: The text hash's constants (64-bit; :func:`text_hash` is the same function in Python).
_HASH_START, _HASH_MIX = 0x9E3779B97F4A7C15, 0xFF51AFD7ED558CCD
_M64 = (1 << 64) - 1


def _signed(value: int) -> int:
    """A 64-bit constant as LLVM IR writes an i64 (signed decimal)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _edge_words(data: bytes) -> tuple[int, int]:
    """A value's first and last 8 bytes as little-endian words (a value under 8 bytes: its
    bytes zero-padded, twice), as the compiled lookup reads them."""
    if len(data) < 8:
        word = int.from_bytes(data.ljust(8, b"\0"), "little")
        return word, word
    return int.from_bytes(data[:8], "little"), int.from_bytes(data[-8:], "little")


def _mix(value: int) -> int:
    value = (value * _HASH_MIX) & _M64
    return value ^ (value >> 32)


def text_hash(data: bytes) -> int:
    """The hash the compiled text lookup computes of a value's UTF-8 bytes: its length, first and
    last 8 bytes (:func:`_edge_words`), each mixed in by a multiply and a fold of the high half.
    A fixed number of steps per value (no loop over its bytes). Not a security hash: a key is
    taken only when its bytes match."""
    first, last = _edge_words(data)
    return _mix(_mix(((len(data) * _HASH_START) & _M64) ^ first) ^ last)


# text_codes(offsets, wide, data, data_len, valid, bit0, n, slots, mask, key_at, key_data, key_edges, out, miss,
# null): each of n text values (Arrow's layout: ``offsets`` int32, or int64 when ``wide``, into
# ``data`` of ``data_len`` bytes; validity bit ``bit0 + r`` of ``valid``, which may be null)
# looked up in a key table (open addressing: ``slots`` of mask + 1 key numbers, -1 where empty;
# key k's bytes are ``key_data[key_at[k]:key_at[k + 1]]`` and its first and last words
# ``key_edges[2k]``, ``key_edges[2k + 1]``), exactly byte for byte: ``out[r]`` (int32) is the
# key's number, ``null`` for a null value and ``miss`` for any other (returned: how many). A value
# whose offsets lie outside ``data`` is a miss: it is never read. A value is compared by its
# length, its first and last words, then the words between (values over 16 bytes only).
_IR += f"""
define i64 @text_codes(ptr noalias %offsets, i64 %wide, ptr noalias %data, i64 %data_len, ptr noalias %valid,
                       i64 %bit0, i64 %n, ptr noalias %slots, i64 %mask, ptr noalias %key_at, ptr noalias %key_data,
                       ptr noalias %key_edges, ptr noalias %out, i64 %miss, i64 %null) nounwind {{
entry:
  %some = icmp sgt i64 %n, 0
  %has_valid = icmp ne ptr %valid, null
  %is_wide = icmp ne i64 %wide, 0
  %miss32 = trunc i64 %miss to i32
  %null32 = trunc i64 %null to i32
  br i1 %some, label %row, label %done
row:
  %r = phi i64 [0, %entry], [%r.next, %next]
  %misses = phi i64 [0, %entry], [%misses.next, %next]
  br i1 %has_valid, label %check, label %bounds
check:
  %b = add i64 %bit0, %r
  %byte_at = lshr i64 %b, 3
  %vp = getelementptr i8, ptr %valid, i64 %byte_at
  %vbyte = load i8, ptr %vp
  %bit = and i64 %b, 7
  %bit8 = trunc i64 %bit to i8
  %shifted = lshr i8 %vbyte, %bit8
  %isset = and i8 %shifted, 1
  %isnull = icmp eq i8 %isset, 0
  br i1 %isnull, label %store, label %bounds
bounds:
  %r1 = add i64 %r, 1
  br i1 %is_wide, label %b64, label %b32
b64:
  %p64a = getelementptr i64, ptr %offsets, i64 %r
  %s64 = load i64, ptr %p64a, align 1
  %p64b = getelementptr i64, ptr %offsets, i64 %r1
  %e64 = load i64, ptr %p64b, align 1
  br label %have
b32:
  %p32a = getelementptr i32, ptr %offsets, i64 %r
  %s32 = load i32, ptr %p32a, align 1
  %s32x = sext i32 %s32 to i64
  %p32b = getelementptr i32, ptr %offsets, i64 %r1
  %e32 = load i32, ptr %p32b, align 1
  %e32x = sext i32 %e32 to i64
  br label %have
have:
  %start = phi i64 [%s64, %b64], [%s32x, %b32]
  %end = phi i64 [%e64, %b64], [%e32x, %b32]
  %len = sub i64 %end, %start
  %below = icmp slt i64 %start, 0
  %past = icmp sgt i64 %end, %data_len
  %reversed = icmp slt i64 %end, %start
  %out1 = or i1 %below, %past
  %outside = or i1 %out1, %reversed
  br i1 %outside, label %store, label %edges
edges:
  %long = icmp sge i64 %len, 8
  br i1 %long, label %edge_long, label %edge_short
edge_long:
  %fp = getelementptr i8, ptr %data, i64 %start
  %first.l = load i64, ptr %fp, align 1
  %lat = sub i64 %end, 8
  %lp = getelementptr i8, ptr %data, i64 %lat
  %last.l = load i64, ptr %lp, align 1
  br label %hash
edge_short:
  %any = icmp sgt i64 %len, 0
  br i1 %any, label %short_some, label %hash
short_some:
  %room = add i64 %start, 8
  %fits = icmp sle i64 %room, %data_len
  br i1 %fits, label %short_word, label %short_bytes
short_word:
  %sp8 = getelementptr i8, ptr %data, i64 %start
  %sw = load i64, ptr %sp8, align 1
  %sbits = shl i64 %len, 3
  %sone = shl i64 1, %sbits
  %smask = sub i64 %sone, 1
  %swm = and i64 %sw, %smask
  br label %hash
short_bytes:
  %tb.i = phi i64 [0, %short_some], [%tb.i.next, %short_bytes]
  %tb.w = phi i64 [0, %short_some], [%tb.w.next, %short_bytes]
  %tb.at = add i64 %start, %tb.i
  %tb.p = getelementptr i8, ptr %data, i64 %tb.at
  %tb.b = load i8, ptr %tb.p
  %tb.z = zext i8 %tb.b to i64
  %tb.sh = shl i64 %tb.i, 3
  %tb.v = shl i64 %tb.z, %tb.sh
  %tb.w.next = or i64 %tb.w, %tb.v
  %tb.i.next = add i64 %tb.i, 1
  %tb.more = icmp slt i64 %tb.i.next, %len
  br i1 %tb.more, label %short_bytes, label %hash
hash:
  %first = phi i64 [%first.l, %edge_long], [0, %edge_short], [%swm, %short_word], [%tb.w.next, %short_bytes]
  %last = phi i64 [%last.l, %edge_long], [0, %edge_short], [%swm, %short_word], [%tb.w.next, %short_bytes]
  %h0 = mul i64 %len, {_signed(_HASH_START)}
  %h1x = xor i64 %h0, %first
  %h1m = mul i64 %h1x, {_signed(_HASH_MIX)}
  %h1s = lshr i64 %h1m, 32
  %h1 = xor i64 %h1m, %h1s
  %h2x = xor i64 %h1, %last
  %h2m = mul i64 %h2x, {_signed(_HASH_MIX)}
  %h2s = lshr i64 %h2m, 32
  %h2 = xor i64 %h2m, %h2s
  %s0 = and i64 %h2, %mask
  br label %probe
probe:
  %s = phi i64 [%s0, %hash], [%s.next, %probe_next]
  %sp = getelementptr i64, ptr %slots, i64 %s
  %k = load i64, ptr %sp
  %empty = icmp slt i64 %k, 0
  br i1 %empty, label %store, label %compare
compare:
  %kap = getelementptr i64, ptr %key_at, i64 %k
  %ks = load i64, ptr %kap
  %k1 = add i64 %k, 1
  %kbp = getelementptr i64, ptr %key_at, i64 %k1
  %ke = load i64, ptr %kbp
  %klen = sub i64 %ke, %ks
  %k2 = shl i64 %k, 1
  %kfp = getelementptr i64, ptr %key_edges, i64 %k2
  %kfirst = load i64, ptr %kfp
  %k2l = add i64 %k2, 1
  %klp = getelementptr i64, ptr %key_edges, i64 %k2l
  %klast = load i64, ptr %klp
  %same_len = icmp eq i64 %klen, %len
  %same_first = icmp eq i64 %kfirst, %first
  %same_last = icmp eq i64 %klast, %last
  %same1 = and i1 %same_len, %same_first
  %same = and i1 %same1, %same_last
  br i1 %same, label %middle_start, label %probe_next
middle_start:
  %middle = icmp sgt i64 %len, 16
  br i1 %middle, label %mid, label %found
mid:
  %mi = phi i64 [8, %middle_start], [%mi.next, %mid_next]
  %mda = add i64 %start, %mi
  %mdp = getelementptr i8, ptr %data, i64 %mda
  %mdw = load i64, ptr %mdp, align 1
  %mka = add i64 %ks, %mi
  %mkp = getelementptr i8, ptr %key_data, i64 %mka
  %mkw = load i64, ptr %mkp, align 1
  %meq = icmp eq i64 %mdw, %mkw
  br i1 %meq, label %mid_next, label %probe_next
mid_next:
  %mi.next = add i64 %mi, 8
  %mi.end = add i64 %mi.next, 8
  %mmore = icmp slt i64 %mi.end, %len
  br i1 %mmore, label %mid, label %found
probe_next:
  %s.inc = add i64 %s, 1
  %s.next = and i64 %s.inc, %mask
  br label %probe
found:
  %k32 = trunc i64 %k to i32
  br label %store
store:
  %code = phi i32 [%null32, %check], [%miss32, %have], [%miss32, %probe], [%k32, %found]
  %add = phi i64 [0, %check], [1, %have], [1, %probe], [0, %found]
  %op = getelementptr i32, ptr %out, i64 %r
  store i32 %code, ptr %op
  br label %next
next:
  %misses.next = add i64 %misses, %add
  %r.next = add i64 %r, 1
  %more = icmp slt i64 %r.next, %n
  br i1 %more, label %row, label %done
done:
  %total = phi i64 [0, %entry], [%misses.next, %next]
  ret i64 %total
}}
"""

_FILL_BLOCK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                               ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)
_COUNT_FLAGS = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                                ctypes.c_int64)
_TEXT_CODES = ctypes.CFUNCTYPE(ctypes.c_int64, *[ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                                 ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                                                 ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                                 ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64])

#: Set to 0 (or false, no, off) to never compile the kernel (numpy writes every block: the same
#: scores, slower), for a host where run-time generated code is not wanted. Ray workers read their
#: own environment.
ENV_SWITCH = "FINLITE_COMPILED_FILL"

log = logging.getLogger("finlite")
_lock = threading.Lock()
#: The kernel's state where it cannot be compiled (or is switched off): no function.
NO_KERNEL: tuple[None, None, None, None] = (None, None, None, None)
# (engine, fill_block, count_flags, text_codes) once compiled, NO_KERNEL where it cannot be;
# published in one assignment.
_kernel: tuple[Any, Any, Any, Any] | None = None
_started = False  # a background compile has been started
_start_lock = threading.Lock()


def kernel() -> Any:
    """The compiled ``fill_block`` (a ctypes function; calls release the GIL), or None when it is
    switched off (:data:`ENV_SWITCH`), llvmlite is not installed or cannot compile it here (said
    once, as a warning on the ``finlite`` logger). Compiled once per process, on first use."""
    global _kernel
    if _kernel is None:
        with _lock:
            if _kernel is None:
                _kernel = _compile()
    return _kernel[1]


def compiled() -> Any:
    """The kernel if it is compiled already, else None: never waits for a compile under way
    (numpy fills the block meanwhile, the same cells)."""
    state = _kernel
    return state[1] if state is not None else None


def compile_in_background() -> None:
    """Start compiling the kernel on a thread of its own (LLVM releases the GIL), so that a
    scoring run opens its file and loads its model meanwhile (:func:`fill` uses numpy until it is
    ready). Does nothing once compiled or under way, or when no thread can be started."""
    global _started
    with _start_lock:
        if _started or _kernel is not None:
            return
        _started = True
    try:
        threading.Thread(target=kernel, name="finlite-compile", daemon=True).start()
    except RuntimeError:  # no thread to be had: an optional speed-up never fails a score
        with _start_lock:
            _started = False


def _compile() -> tuple[Any, Any, Any, Any]:
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return NO_KERNEL
    try:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(), opt=3)
        module = llvm.parse_assembly(_IR)  # opaque pointers: llvmlite 0.45 (0.44's LLVM 15 has typed ones)
        module.verify()
        # No IR optimisation passes: the IR is written as the loops should run, and LLVM's -O2
        # pipeline took the compile from about 0.03 to 0.15 s for a fill 3 % faster.
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        address, counter = engine.get_function_address("fill_block"), engine.get_function_address("count_flags")
        texts = engine.get_function_address("text_codes")
        if not address or not counter or not texts:
            raise RuntimeError("LLVM gave no address for fill_block, count_flags or text_codes")
    except Exception as exc:  # noqa: BLE001 - any failure here means "use numpy", never a failed score
        log.warning("warning: the compiled block fill is unavailable here (%s: %s); batch scoring writes its blocks "
                    "with numpy: the same scores, slower. It needs llvmlite 0.45 or later; set %s=0 to skip the "
                    "attempt.", type(exc).__name__, " ".join(str(exc).split())[:300], ENV_SWITCH)
        return NO_KERNEL
    # The engine owns the machine code: kept for the life of the process, beside the functions.
    return engine, _FILL_BLOCK(address), _COUNT_FLAGS(counter), _TEXT_CODES(texts)


class Plans:
    """One chunk's columns as the kernel reads them, checked once per chunk (see :func:`fill`):

    - ``numbers``: ``(column, values, mean, std)``, written as ``(v - mean) / std``: int64 values
      as they are (the kernel converts each), any other as float64;
    - ``ones``: one-hot fields, ``(codes, lookup)``: 1.0 at column ``lookup[code]``;
    - ``valued``: ``(codes, float64 table, column)``: ``table[code]`` at ``column``.

    A code is clipped into its lookup or table, as ``np.take(..., mode="clip")`` does. Holds a
    reference to every array it points into.

    Raises:
        ValueError: an array that is not one value per row, an empty lookup or table, or a column
            number that is negative.
    """

    __slots__ = ("arrays", "highest", "numbers", "ones", "rows", "valued")

    def __init__(self, numbers: Sequence[tuple[int, np.ndarray, float, float]],
                 ones: Sequence[tuple[np.ndarray, np.ndarray]], rows: int,
                 valued: Sequence[tuple[np.ndarray, np.ndarray, int]] = ()) -> None:
        self.rows = rows
        self.arrays: list[np.ndarray] = []
        self.highest = -1  # the largest output column written: it must be within the block's width
        self.numbers = np.zeros((len(numbers), NUMBER_SLOTS), dtype=np.int64)
        for j, (column, values, mean, std) in enumerate(numbers):
            integers = values.dtype == np.int64  # read as they are (converted row by row); anything else as float64
            values = self._rows(values, np.int64 if integers else np.float64, "a number column")
            self.numbers[j] = (values.ctypes.data, self._column(column), 0, 0, int(integers))
            self.numbers[j, 2:4].view(np.float64)[:] = (mean, std)  # their bits, as the kernel loads them
        self.ones = np.zeros((len(ones), ONE_HOT_SLOTS), dtype=np.int64)
        for j, (codes, lookup) in enumerate(ones):
            codes = self._codes(codes)
            lookup = self._rows(lookup, np.int64, "a one-hot field's lookup", None)
            if int(lookup.min()) < 0:
                raise ValueError(f"a field's lookup holds the negative column number {int(lookup.min())}")
            self.highest = max(self.highest, int(lookup.max()))
            self.ones[j] = (codes.ctypes.data, codes.dtype.itemsize, lookup.ctypes.data, len(lookup))
        self.valued = np.zeros((len(valued), VALUED_SLOTS), dtype=np.int64)
        for j, (codes, table, column) in enumerate(valued):
            codes = self._codes(codes)
            table = self._rows(table, np.float64, "a valued field's table", None)
            self.valued[j] = (codes.ctypes.data, codes.dtype.itemsize, table.ctypes.data, len(table),
                              self._column(column))

    def _rows(self, array: np.ndarray, dtype: npt.DTypeLike, what: str, rows: int | None = -1) -> np.ndarray:
        """``array`` as a contiguous array of ``dtype`` this object keeps (``rows`` long: the
        chunk's rows by default, None for any non-empty length)."""
        rows = self.rows if rows == -1 else rows
        if array.ndim != 1 or (len(array) != rows if rows is not None else not len(array)):
            wanted = f"one value per row ({rows})" if rows is not None else "a non-empty 1-D array"
            raise ValueError(f"{what} must be {wanted}; got shape {array.shape}")
        array = np.ascontiguousarray(array, dtype=dtype)
        self.arrays.append(array)
        return array

    def _codes(self, codes: np.ndarray) -> np.ndarray:
        if codes.dtype.kind != "i" or codes.dtype.itemsize not in _CODE_TYPES or not codes.dtype.isnative:
            codes = codes.astype(np.int64)  # unsigned, swapped or other: the kernel reads native signed codes
        return self._rows(codes, codes.dtype, "a field's codes")

    def _column(self, column: int) -> int:
        if column < 0:
            raise ValueError(f"an output column is negative ({column})")
        self.highest = max(self.highest, int(column))
        return int(column)


def fill(out: np.ndarray, plans: Plans, start: int, stop: int) -> bool:
    """Write rows ``start:stop`` of a chunk into ``out`` with the compiled kernel: zeros, each
    number column's ``(v - mean) / std`` (in double, rounded to float32), the ones of the one-hot
    fields and the valued fields' values. False (nothing written) when there is no kernel yet
    (none here, or still compiling) or ``out`` is not a writeable C-contiguous float32 block of
    ``stop - start`` rows wide enough for every column; the caller then uses numpy, which writes
    the same cells (or refuses a read-only block)."""
    function = compiled()
    m = stop - start
    if function is None or not 0 <= start <= stop <= plans.rows:
        return False
    if out.dtype != np.float32 or out.ndim != 2 or out.shape[0] != m or not out.flags.c_contiguous \
            or not out.flags.writeable or plans.highest >= out.shape[1]:
        return False
    function(out.ctypes.data, m, out.shape[1], start, plans.numbers.ctypes.data,
             len(plans.numbers), plans.ones.ctypes.data, len(plans.ones), plans.valued.ctypes.data,
             len(plans.valued))
    return True


def count_flags(codes: np.ndarray, flags: np.ndarray) -> int | None:
    """How many ``codes`` have a true entry in ``flags`` (a bool per code; a code is clipped into
    it, and the caller knows every code is within it) with the compiled kernel, in one pass; None
    when there is no kernel yet or the arrays are not as it reads them (the caller counts with
    numpy)."""
    state = _kernel
    function = state[2] if state is not None else None
    if function is None or flags.dtype != np.bool_ or flags.ndim != 1 or not len(flags) or codes.ndim != 1 \
            or codes.dtype.kind != "i" or codes.dtype.itemsize not in _CODE_TYPES or not codes.dtype.isnative:
        return None
    codes, flags = np.ascontiguousarray(codes), np.ascontiguousarray(flags)
    return int(function(codes.ctypes.data, codes.dtype.itemsize, len(codes), flags.ctypes.data, len(flags)))


class TextTable:
    """Text keys as :func:`text_codes` looks them up: an open-addressing table of key numbers
    (-1 where empty, at most half full, so a probe always ends) at :func:`text_hash` of each key's
    UTF-8 bytes, and the keys' bytes end to end. Key k is ``keys[k]``."""

    __slots__ = ("count", "key_at", "key_data", "key_edges", "mask", "slots")

    def __init__(self, keys: Sequence[str]) -> None:
        encoded = [k.encode("utf-8") for k in keys]
        self.count = len(encoded)
        size = 8
        while size < 2 * len(encoded):
            size *= 2
        self.mask = size - 1
        self.slots = np.full(size, -1, dtype=np.int64)
        for number, key in enumerate(encoded):
            at = text_hash(key) & self.mask
            while self.slots[at] >= 0:
                at = (at + 1) & self.mask
            self.slots[at] = number
        self.key_at = np.zeros(len(encoded) + 1, dtype=np.int64)
        self.key_at[1:] = np.cumsum([len(k) for k in encoded], dtype=np.int64)
        # Padded so that an 8-byte load at any key's byte stays inside (the middle words' compare).
        self.key_data = np.frombuffer(b"".join(encoded) + b"\0" * 8, dtype=np.uint8)
        # Each key's first and last words, as signed int64 (the bits the kernel compares).
        self.key_edges = np.array([w for key in encoded for w in _edge_words(key)] or [0], dtype=np.uint64).view(np.int64)


def text_codes(column: Any, table: TextTable, out: np.ndarray, miss: int, null: int) -> int | None:
    """Each value of ``column`` (one pyarrow ``string`` or ``large_string`` array) looked up in
    ``table`` byte for byte, written to ``out`` (int32, one per value): the key's number, ``null``
    for a null and ``miss`` for any other value. Returns how many missed, or None (nothing
    written) when there is no kernel yet or the column is not laid out as it reads it: the caller
    then looks the values up otherwise."""
    import pyarrow as pa

    state = _kernel
    function = state[3] if state is not None else None
    n = len(column)
    if function is None or out.dtype != np.int32 or out.ndim != 1 or len(out) != n or not out.flags.c_contiguous \
            or not out.flags.writeable or column.type not in (pa.string(), pa.large_string()):
        return None
    if not n:
        return 0
    valid, offsets, data = column.buffers()
    width = 8 if column.type == pa.large_string() else 4
    if offsets is None or offsets.size < (column.offset + n + 1) * width:
        return None
    valid_at = valid.address if valid is not None and column.null_count else 0
    data_at, data_len = (data.address, data.size) if data is not None else (0, 0)
    return int(function(offsets.address + column.offset * width, int(width == 8), data_at, data_len, valid_at,
                        column.offset, n, table.slots.ctypes.data, table.mask, table.key_at.ctypes.data,
                        table.key_data.ctypes.data, table.key_edges.ctypes.data, out.ctypes.data, miss, null))
