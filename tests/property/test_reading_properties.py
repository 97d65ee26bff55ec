"""Properties of the small primitives behind reading a scoring file: the rows a chunk may hold,
the keys a day may be written as, and the names an output path may have."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite._keys import ALIASABLE_TEXT, key_aliases, look_up
from finlite._paths import NAME_MAX, check_name_lengths
from finlite.errors import ConfigError
from finlite.runtime.batch import _at_most


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=60), max_size=8), rows=st.integers(min_value=1, max_value=25))
def test_chunks_hold_at_most_the_rows_asked_and_keep_every_row_in_order(sizes: list[int], rows: int) -> None:
    start = 0
    batches = []
    for size in sizes:
        batches.append(pa.record_batch({"i": pa.array(range(start, start + size), pa.int64())}))
        start += size
    out = list(_at_most(iter(batches), rows))
    assert all(b.num_rows <= rows for b in out)
    assert [v for b in out for v in b.column(0).to_pylist()] == list(range(start))


_DAYS = st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9999, 12, 31))


@settings(max_examples=200, deadline=None)
@given(day=_DAYS, spelling=st.sampled_from(["", " 00:00:00", "T00:00:00", " 00:00:00.000"]),
       trained=st.sampled_from(["", " 00:00:00", "T00:00:00"]))
def test_a_day_is_found_under_any_midnight_spelling_it_was_trained_with(day: datetime.date, spelling: str,
                                                                        trained: str) -> None:
    text = day.isoformat()
    mapping = {f"{text}{trained}": 7, "other": 1}
    assert look_up(mapping, f"{text}{spelling}") == 7
    # The Arrow path asks for aliases only of texts this pattern matches: every such spelling.
    assert re.fullmatch(f"(?:{ALIASABLE_TEXT})", f"{text}{spelling}")
    assert f"{text}{spelling}" not in key_aliases(f"{text}{spelling}", mapping)


@given(day=_DAYS, hour=st.integers(min_value=1, max_value=23))
def test_a_time_other_than_midnight_is_never_its_day(day: datetime.date, hour: int) -> None:
    assert look_up({day.isoformat(): 7}, f"{day.isoformat()} {hour:02d}:00:00") is None


@given(length=st.integers(min_value=1, max_value=NAME_MAX + 10), wide=st.booleans())
def test_a_name_is_refused_exactly_when_it_or_its_temporary_names_exceed_the_limit(length: int, wide: bool) -> None:
    name = ("é" * (length // 2) + "a" * (length % 2)) if wide else "a" * length  # é is two bytes
    size = len(name.encode())
    folder = Path("/tmp") / name
    if size > NAME_MAX:
        with pytest.raises(ConfigError, match=rf"is {size} bytes long; a name may have at most {NAME_MAX}"):
            check_name_lengths(folder / "out.csv", "-o", ConfigError)
    else:
        check_name_lengths(folder / "out.csv", "-o", ConfigError)
    own = Path("/tmp") / name
    if size + 22 > NAME_MAX:
        with pytest.raises(ConfigError, match=rf"is {size} bytes long"):
            check_name_lengths(own, "-o", ConfigError)
    else:
        check_name_lengths(own, "-o", ConfigError)
    if size <= NAME_MAX:  # a folder made as it is needs no room for a temporary name
        check_name_lengths(own, "--out", ConfigError, temporary=False)
