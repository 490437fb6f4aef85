"""What a hash bank's entry is, for every layer that reads one: the registry stores it, the bank
family matches against it, the doors import and export it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BankEntry:
    """One active entry of an enabled bank, with the bank's terms."""

    entry_id: int
    bank: str
    signal_type: str            # a BankSignalType value
    signal: str                 # threatexchange's normalised signal string: hex, or vPDQ's JSON
    label: str
    source_id: str
    action: str                 # the bank's: review | block | takedown
    report: bool                # the bank's: matches go to the report queue
    pdq_threshold: int | None   # the bank's own PDQ bar; None: the policy's


@dataclass(frozen=True)
class BankSet:
    """What the gate matches against: the enabled banks' versions, and their active entries."""

    versions: tuple[tuple[str, int], ...] = ()
    entries: tuple[BankEntry, ...] = ()

    def identity(self) -> tuple[tuple[str, int], ...]:
        """Equal for two reads between which no enabled bank changed."""
        return self.versions
