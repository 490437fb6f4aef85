"""The provenance family's rule. Always one reason, so every decision records what the clip's
manifest said:
- a clip whose event says it came from the platform's generator (the policy's `generated_attr`
  in its attrs) must carry a valid manifest from a signer the policy trusts, else `verdict`;
- a trusted manifest whose ingredients name a parent clip must agree with the event's
  `remix_of`, else `parent_mismatch`. The generator names the parent by its clip id, as the
  ingredient's title."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from classifiers.provenance.report import ABSENT, INVALID, TAMPERED
from classifiers.provenance.trust import certificates, fingerprint
from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.signals import Signal
from clipguard.core.vocab import ReasonKind

PARENT_RELATIONSHIPS = ("parentOf", "inputTo")


def provenance_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                    attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    if not signal.findings:     # nothing read, so nothing to say (the handler always reports one)
        return []
    evidence = signal.findings[0].evidence
    signers = trusted_signers(tuple((s["name"], s["certificate"]) for s in config["trusted_signers"]))
    trusted_by = [signers[f] for f in evidence["trusted_by"] if f in signers]
    if attrs.get(config["generated_attr"]) and not trusted_by:
        return [(config["verdict"], _reason(policy, evidence, trusted_by, "its event says it came from the generator"))]
    mismatch = _parent_mismatch(evidence) if trusted_by else None
    if mismatch:
        return [(config["parent_mismatch"], _reason(policy, evidence, trusted_by, mismatch))]
    return [("allow", _reason(policy, evidence, trusted_by))]


@lru_cache(maxsize=64)
def trusted_signers(named: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each trusted certificate's fingerprint -> the signer's name in the policy."""
    return {fingerprint(pem): name for name, text in named for pem in certificates(text)}


def describe(evidence: Mapping[str, Any], trusted_by: list[str]) -> str:
    """The manifest's state in one line, as a reason and `clipguard verify` say it."""
    state, signer = evidence["state"], evidence["signer"].get("subject") or "an unnamed signer"
    if state == ABSENT:
        return "no C2PA manifest"
    if state == TAMPERED:
        return f"C2PA manifest signed by {signer}, but its hard binding fails: the bytes were changed after signing"
    if state == INVALID:
        codes = ", ".join(f["code"] for f in evidence["failures"]) or "no code"
        return f"C2PA manifest does not validate ({codes})"
    made_by = f", made by {evidence['claim_generator']}" if evidence["claim_generator"] else ""
    trust = f"trusted as {', '.join(trusted_by)}" if trusted_by else "not a signer this policy trusts"
    return f"valid C2PA manifest signed by {signer} ({trust}){made_by}"


def check_provenance_policy(section: Mapping[str, Any]) -> None:
    if not isinstance(section["generated_attr"], str) or not section["generated_attr"]:
        raise ValueError("provenance.generated_attr must name an attrs field")
    for key in ("verdict", "parent_mismatch"):
        if section[key] not in VERDICTS or section[key] == "allow":
            raise ValueError(f"provenance.{key} must be review, block or takedown")
    for signer in section["trusted_signers"]:
        if not signer.get("name"):
            raise ValueError("every provenance.trusted_signers entry needs a name")
        try:
            certificates(signer["certificate"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"provenance.trusted_signers {signer['name']!r}: certificate: {exc}") from None


def _parent_mismatch(evidence: Mapping[str, Any]) -> str | None:
    parents = sorted({i["title"] for i in evidence["ingredients"]
                      if i["relationship"] in PARENT_RELATIONSHIPS and i["title"]})
    remix_of = evidence["remix_of"]
    if not parents or remix_of in parents:
        return None
    told = f"remix_of {remix_of!r}" if remix_of else "no remix_of"
    return f"its manifest names parent clip {', '.join(map(repr, parents))}, its event {told}"


def _reason(policy: str, evidence: Mapping[str, Any], trusted_by: list[str], why: str = "") -> Reason:
    detail = describe(evidence, trusted_by) + (f"; {why}" if why else "")
    return Reason(f"{policy}/provenance", ReasonKind.PROVENANCE, detail, None,
                  {**evidence, "trusted_as": trusted_by})
