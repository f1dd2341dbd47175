"""The cyclic garbage collector is paused around the report's bulk builds and always given back (gcpause.py)."""

import gc

import pytest

from migu_assets.gcpause import cycle_collection_paused


def test_collection_is_paused_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    with cycle_collection_paused():
        assert not gc.isenabled()
        with cycle_collection_paused():  # nested: still paused, and the outer block keeps it paused
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), cycle_collection_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_caller_that_had_paused_collection_keeps_it_paused():
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_ledger_and_a_workbook_are_built_with_collection_paused(monkeypatch):
    """ledger_rows (the status refresh and every report) runs paused; gc.isenabled inside it tells."""
    import migu_assets.compute.measures as measures

    seen = []
    monkeypatch.setattr(measures, "_measures", lambda rows: seen.append(gc.isenabled()) or [])

    class Conn:
        def execute(self, _query):
            return []

    assert measures.ledger_rows(Conn(), None, None) == []
    assert seen == [False] and gc.isenabled()
