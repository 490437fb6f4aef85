"""The bank family's rule: a hit within the policy's bars (a bank's own PDQ bar, where it set one)
applies the bank's action, with a `bank` reason naming the bank, entry, signal type and distance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import Reason
from clipguard.core.signals import Signal
from clipguard.core.vocab import BankSignalType, ReasonKind

BARS = ("pdq_distance", "vpdq")
VPDQ_BARS = ("distance", "quality", "query_match_percent", "compared_match_percent")


def bank_rule(signal: Signal, config: Mapping[str, Any], policy: str,
              attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    return [(f.evidence["action"], Reason(f"{policy}/bank", ReasonKind.BANK, f.detail, f.score, dict(f.evidence)))
            for f in signal.findings if within_bars(f.evidence, config)]


def within_bars(evidence: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    kind = evidence["signal_type"]
    if kind in (BankSignalType.MD5, BankSignalType.SHA256):
        return True
    if kind == BankSignalType.PDQ:
        bar = evidence["pdq_threshold"] if evidence["pdq_threshold"] is not None else config["pdq_distance"]
        return evidence["distance"] <= bar
    vpdq = config["vpdq"]
    return (evidence["query_match_percent"] >= vpdq["query_match_percent"]
            and evidence["compared_match_percent"] >= vpdq["compared_match_percent"])


def check_bank_policy(section: Mapping[str, Any]) -> None:
    missing = [k for k in BARS if k not in section] + [f"vpdq.{k}" for k in VPDQ_BARS
                                                       if k not in section.get("vpdq", {})]
    if missing:
        raise ValueError(f"bank section lacks {', '.join(missing)}")
    if not 0 <= section["pdq_distance"] <= 64:
        raise ValueError("bank.pdq_distance is a number of bits from 0 to 64")
    vpdq = section["vpdq"]
    if not 0 <= vpdq["distance"] <= 64 or not 0 <= vpdq["quality"] <= 100:
        raise ValueError("bank.vpdq.distance is 0-64 bits and bank.vpdq.quality 0-100")
    if not all(0 <= vpdq[k] <= 100 for k in ("query_match_percent", "compared_match_percent")):
        raise ValueError("bank.vpdq match percentages are from 0 to 100")
