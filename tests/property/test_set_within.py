"""_util.set_within: the one way a job sets a switch for the code it calls (reproducing an older
artifact's rules, remembering scores): the value holds inside the block and is restored after it,
however the block ends, nested or in another thread."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finlite._util import set_within

_VAR: ContextVar[int] = ContextVar("finlite_test_switch", default=0)


@given(st.lists(st.integers(), min_size=1, max_size=6), st.booleans())
def test_values_nest_and_are_restored_however_the_block_ends(values: list[int], fail: bool) -> None:
    def enter(i: int) -> None:
        if i == len(values):
            if fail:
                raise RuntimeError("inside")
            return
        before = _VAR.get()
        try:
            with set_within(_VAR, values[i]):
                assert _VAR.get() == values[i]
                enter(i + 1)
        finally:
            assert _VAR.get() == before

    if fail:
        with pytest.raises(RuntimeError, match="inside"):
            enter(0)
    else:
        enter(0)
    assert _VAR.get() == 0


def test_another_thread_does_not_see_the_value() -> None:
    seen: list[int] = []
    with set_within(_VAR, 7):
        worker = threading.Thread(target=lambda: seen.append(_VAR.get()))
        worker.start()
        worker.join()
        assert _VAR.get() == 7
    assert seen == [0] and _VAR.get() == 0
