"""How the console shows a provenance reason: the manifest's state and signer, and what it says
made the clip (no frame: a manifest belongs to the file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.families import ReasonView


def provenance_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
                    attrs: Mapping[str, Any]) -> list[ReasonView]:
    evidence = reason["evidence"]
    marks = [f"C2PA {evidence['state']}"]
    if evidence["signer"].get("subject"):
        trusted = ", ".join(evidence.get("trusted_as", [])) or "untrusted"
        marks.append(f"signer {evidence['signer']['subject']} ({trusted})")
    if evidence["claim_generator"]:
        marks.append(f"made by {evidence['claim_generator']}")
    marks += [f"failed {f['code']}" for f in evidence["failures"][:3]]
    return [ReasonView(marks=tuple(marks))]
