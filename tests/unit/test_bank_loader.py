"""The gate's loader of bank entries: it follows imports, removals and disabling, and reads only
what an import added."""

from __future__ import annotations

from pathlib import Path

from pipelines.moderate import BankEntries
from registry.banks import BankStore, NewEntry
from registry.db import migrate


def pdq(i: int) -> NewEntry:
    return NewEntry("pdq", f"{i:064x}")


def test_the_loader_follows_every_change_and_reads_only_what_an_import_added(tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'banks.db'}"
    store = BankStore(migrate(url))
    store.create("a", "o", "block", False, None, "t")
    store.create("b", "o", "review", False, None, "t")
    store.add_entries("a", [pdq(1), pdq(2)], "t", {})
    store.add_entries("b", [pdq(3)], "t", {})
    load = BankEntries(url)
    assert sorted(e.signal for e in load().entries) == [f"{i:064x}" for i in (1, 2, 3)]

    reads: list[tuple[str | None, int]] = []
    real = BankStore.active
    monkeypatch.setattr(BankStore, "active", lambda self, only=None, after_id=0: (
        reads.append((only, after_id)), real(self, only, after_id))[1])
    store.add_entries("a", [pdq(4)], "t", {})
    first = load()
    assert len(first.entries) == 4 and load() is first        # nothing changed: the same set, no read
    held = max(e.entry_id for e in first.entries if e.bank == "a" and e.signal != f"{4:064x}")
    assert reads == [("a", held)]                            # bank a's new entries only; b untouched

    removed = next(e.entry_id for e in first.entries if e.signal == f"{1:064x}")
    store.remove_entries("a", [removed], "t")
    assert sorted(e.signal[-1] for e in load().entries) == ["2", "3", "4"]
    store.set_enabled("b", False, "t")
    assert {e.bank for e in load().entries} == {"a"}
    store.set_enabled("b", True, "t")
    assert {e.bank for e in load().entries} == {"a", "b"}
    assert ("a", 0) in reads                                 # a removal reads the bank whole
