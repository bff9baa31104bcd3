"""Collection held off during a cold start: off while held, back on (and what was built frozen) after
the last holder leaves, never turned on when it was off before."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from chalicelib import gc_hold


@pytest.fixture(autouse=True)
def collection_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_collection_is_off_while_held_and_on_after() -> None:
    with gc_hold.held():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_was_built_while_held_is_frozen() -> None:
    before = gc.get_freeze_count()
    with gc_hold.held():
        built = [[n] for n in range(1_000)]  # lists are always tracked by the collector

    assert gc.get_freeze_count() >= before + len(built)


def test_collection_stays_off_until_the_last_holder_leaves() -> None:
    first_in, second_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        assert first_in.wait(5)
        with gc_hold.held():
            pass
        seen.append(gc.isenabled())  # the first holder is still inside
        second_out.set()

    thread = threading.Thread(target=second)
    thread.start()
    with gc_hold.held():
        first_in.set()
        assert second_out.wait(5)
    thread.join(5)

    assert seen == [False] and gc.isenabled()


def test_collection_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_hold.held():
        pass
    assert not gc.isenabled()


def test_a_failure_inside_still_releases() -> None:
    with pytest.raises(RuntimeError, match="boom"), gc_hold.held():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_an_unmatched_release_is_refused() -> None:
    with pytest.raises(RuntimeError, match="without a matching hold"):
        gc_hold.release()
