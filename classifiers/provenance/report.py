"""What reading a clip's C2PA manifest store found, as plain data: the handler's evidence and
the rule's input, with no C2PA library behind it, so judging a stored signal loads none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ABSENT, VALID, INVALID, TAMPERED = "absent", "valid", "invalid", "tampered"
MODERATION = "org.clipguard.moderation"     # the label of clipguard's decision assertion


@dataclass(frozen=True)
class ManifestReport:
    state: str                                   # ABSENT, VALID, INVALID or TAMPERED
    trusted_by: tuple[str, ...] = ()             # fingerprints of the anchors the signer chains to
    signer: dict[str, Any] = field(default_factory=dict)    # subject, issuer, serial, alg
    claim_generator: str | None = None
    actions: tuple[str, ...] = ()
    ingredients: tuple[dict[str, Any], ...] = ()             # title, relationship, manifest label
    failures: tuple[dict[str, str], ...] = ()                # validation codes, trust aside
    moderation: dict[str, Any] | None = None                 # clipguard's own decision assertion

    def as_evidence(self) -> dict[str, Any]:
        return {"state": self.state, "trusted_by": list(self.trusted_by), "signer": self.signer,
                "claim_generator": self.claim_generator, "actions": list(self.actions),
                "ingredients": list(self.ingredients), "failures": list(self.failures),
                "moderation": self.moderation}
