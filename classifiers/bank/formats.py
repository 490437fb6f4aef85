"""Bank files in the formats the ecosystem exchanges, parsed and checked by python-threatexchange's
own signal types (1.2.17; vPDQ through its extension over the `vpdq` package, 0.2.5):

- `te`: one `<signal type> <signal>` per line, as `threatexchange hash` prints them and its
  LocalFileSignalExchangeAPI reads them; with a fixed signal type, one bare signal per line.
- `csv`: a header `signal_type,signal,label,source_id`, then one entry per row; a label and a
  source id are what a clearinghouse's list carries beside each hash.

A file is read whole before anything is stored: every bad line is reported with its number,
and a file with any bad line imports nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from threatexchange.extensions.vpdq.vpdq import VPDQSignal
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from clipguard.core.vocab import BankSignalType

FORMATS = ("te", "csv")
CSV_HEADER = ("signal_type", "signal", "label", "source_id")
# threatexchange's names of the signal types a bank holds, and ours for each.
TE_TYPES: dict[str, type[SignalType]] = {"pdq": PdqSignal, "vpdq": VPDQSignal, "video_md5": VideoMD5Signal,
                                         "video_sha256": VideoSHA256Signal}
OURS = {"pdq": BankSignalType.PDQ, "vpdq": BankSignalType.VPDQ, "video_md5": BankSignalType.MD5,
        "md5": BankSignalType.MD5, "video_sha256": BankSignalType.SHA256, "sha256": BankSignalType.SHA256}
TE_NAME = {BankSignalType.PDQ: "pdq", BankSignalType.VPDQ: "vpdq", BankSignalType.MD5: "video_md5",
           BankSignalType.SHA256: "video_sha256"}
MAX_ERRORS_SHOWN = 20
MAX_FIELD_CHARS = 256


@dataclass(frozen=True)
class ParsedEntry:
    signal_type: str     # ours: pdq | vpdq | md5
    signal: str          # as threatexchange normalises it
    label: str = ""
    source_id: str = ""


class BadBankFile(ValueError):
    """Lines that are not entries, by number; nothing from the file was stored."""

    def __init__(self, errors: list[tuple[int, str]], total: int):
        self.errors = errors
        shown = "; ".join(f"line {n}: {why}" for n, why in errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        super().__init__(f"{len(errors)} of {total} lines are not bank entries, so nothing was imported: "
                         f"{shown}{more}")


def parse(text: str, fmt: str, signal_type: str | None = None) -> list[ParsedEntry]:
    """Every entry in `text`, or BadBankFile naming each bad line."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown bank file format {fmt!r}; choose from {', '.join(FORMATS)}")
    if signal_type is not None and signal_type not in OURS:
        raise ValueError(f"unknown signal type {signal_type!r}; choose from {', '.join(sorted(OURS))}")
    rows = _te_rows(text, signal_type) if fmt == "te" else _csv_rows(text)
    entries, errors, total = [], [], 0
    for number, row in rows:
        total += 1
        try:
            entries.append(_entry(row))
        except ValueError as exc:
            errors.append((number, str(exc)[:200]))
    if errors:
        raise BadBankFile(errors, total)
    return entries


def write(entries: Iterable[Mapping[str, str]], fmt: str) -> Iterator[str]:
    """Lines of a bank file (each ending in a newline) that `parse`, and threatexchange, read back."""
    if fmt == "te":
        for e in entries:
            yield f"{TE_NAME[BankSignalType(e['signal_type'])]} {e['signal']}\n"
        return
    if fmt != "csv":
        raise ValueError(f"unknown bank file format {fmt!r}; choose from {', '.join(FORMATS)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for e in entries:
        writer.writerow([TE_NAME[BankSignalType(e["signal_type"])], e["signal"], e["label"], e["source_id"]])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _te_rows(text: str, signal_type: str | None) -> Iterator[tuple[int, tuple[str, ...]]]:
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if signal_type is not None:
            yield number, (signal_type, line)
        else:
            kind, _, signal = line.partition(" ")
            yield number, (kind, signal.strip())


def _csv_rows(text: str) -> Iterator[tuple[int, tuple[str, ...]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:2]) != CSV_HEADER[:2]:
        raise BadBankFile([(1, f"the first line must be the header {','.join(CSV_HEADER)}")], 1)
    for row in reader:
        if row:
            yield reader.line_num, tuple(row)


def _entry(row: tuple[str, ...]) -> ParsedEntry:
    if len(row) < 2 or len(row) > 4:
        raise ValueError(f"expected {' and '.join(CSV_HEADER[:2])} (then optionally a label and a source id), "
                         f"got {len(row)} fields")
    kind, signal, *rest = row
    if kind not in OURS:
        raise ValueError(f"unknown signal type {kind[:32]!r}; a bank holds {', '.join(sorted(OURS))}")
    if not signal:
        raise ValueError(f"no {kind} signal")
    ours = OURS[kind]
    try:
        # PDQ's check takes lowercase hex only; case carries no meaning in a hash.
        text = signal if ours == BankSignalType.VPDQ else signal.lower()
        normalised = TE_TYPES[TE_NAME[ours]].validate_signal_str(text)
    except ValueError as exc:
        raise ValueError(f"not a valid {kind} signal ({exc})") from None
    label, source_id = [*rest, "", ""][:2]
    if len(label) > MAX_FIELD_CHARS or len(source_id) > MAX_FIELD_CHARS:
        raise ValueError(f"a label or source id is over {MAX_FIELD_CHARS} characters")
    return ParsedEntry(ours, normalised, label, source_id)
