"""The lineage family's rule: a remix of a clip whose current verdict is one the policy names
(by default block or takedown) gets at least the policy's verdict (by default review), with the
parent's reasons in its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.signals import Signal
from clipguard.core.vocab import ReasonKind


def lineage_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                 attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    out = []
    for finding in signal.findings:
        evidence = finding.evidence
        if evidence["parent_verdict"] not in config["parent_verdicts"]:
            continue
        reasons = "; ".join(r["detail"] for r in evidence["parent_reasons"]) or "no reason recorded"
        detail = f"{finding.detail} ({reasons})"
        out.append((config["verdict"], Reason(f"{policy}/lineage", ReasonKind.LINEAGE, detail, None, dict(evidence))))
    return out


def check_lineage_policy(section: Mapping[str, Any]) -> None:
    unknown = set(section["parent_verdicts"]) - set(VERDICTS)
    if unknown:
        raise ValueError(f"lineage.parent_verdicts has unknown verdicts {sorted(unknown)}")
    if section["verdict"] not in VERDICTS or section["verdict"] == "allow":
        raise ValueError("lineage.verdict must be review, block or takedown")
