"""Hash banks, one implementation for `clipguard banks` and `/v1/banks`: a file checked whole by
threatexchange's signal types before anything is stored, and a bank that blocks or takes down
retroscanned over clips already published whenever it gains entries or is enabled."""

from __future__ import annotations

from collections.abc import Iterator

from classifiers.bank.formats import parse, write
from registry.banks import BankInfo, BankStore, NewEntry
from usecases.retroscans import Retroscan

MAX_IMPORT_ENTRIES = 5_000_000


def import_entries(banks: BankStore, name: str, text: str, fmt: str, signal_type: str | None, actor: str,
                   retroscan: Retroscan) -> int:
    """How many entries were added. BadBankFile (a ValueError) names every bad line, and then
    nothing was added; an unknown bank raises BankNotFound before the file is read."""
    info = banks.get(name)
    parsed = parse(text, fmt, signal_type)
    if len(parsed) > MAX_IMPORT_ENTRIES:
        raise ValueError(f"{len(parsed)} entries in one import; the limit is {MAX_IMPORT_ENTRIES}")
    banks.add_entries(name, [NewEntry(e.signal_type, e.signal, e.label, e.source_id) for e in parsed], actor,
                      {"format": fmt})
    _retroscan_if_applies(info, retroscan)
    return len(parsed)


def enable(banks: BankStore, name: str, actor: str, retroscan: Retroscan) -> BankInfo:
    info = banks.set_enabled(name, True, actor)
    _retroscan_if_applies(info, retroscan)
    return info


def export_lines(banks: BankStore, name: str, fmt: str) -> Iterator[str]:
    """The bank's active entries as a file in `fmt`."""
    return write(banks.entries(name), fmt)


def _retroscan_if_applies(info: BankInfo, retroscan: Retroscan) -> None:
    if info.enabled and info.action != "review":
        retroscan("--bank", info.name)
