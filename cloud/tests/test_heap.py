"""The collector settings a cloud process takes once it has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from kentongan_cloud import heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_gc")
def test_settle_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    made_at_start_up = [object() for _ in range(1000)]
    cycle: list[object] = []
    cycle.append(cycle)  # garbage before the freeze: collected, not frozen forever
    del cycle
    heap.settle()
    assert gc.get_threshold() == (heap.YOUNG, heap.MIDDLE, heap.OLD)
    assert gc.get_freeze_count() >= len(made_at_start_up)
    # Frozen objects are out of every generation: a full collection no longer walks them.
    assert gc.get_count()[0] < heap.YOUNG
    assert not any(o is made_at_start_up for o in gc.get_objects(generation=2))


@pytest.mark.usefixtures("restored_gc")
def test_cycles_made_after_settle_are_still_collected() -> None:
    heap.settle()

    class Node:
        peer: object = None

    a, b = Node(), Node()
    a.peer, b.peer = b, a
    del a, b
    assert gc.collect() >= 2
