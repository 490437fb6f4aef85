"""The provenance signal family: the clip's C2PA manifest, whether it is present, validates,
still binds the bytes, and comes from a signer the policy trusts; what made the clip, and from
which parent. docs/provenance.md also covers the other direction: signing decisions."""

from __future__ import annotations

from classifiers.provenance.rule import check_provenance_policy, provenance_rule
from classifiers.provenance.view import provenance_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily


def _handler(context: HandlerContext) -> Handler:
    from classifiers.provenance.handler import ProvenanceHandler
    from classifiers.provenance.trust import certificates, fingerprint

    # Every policy that may judge this signal, live or shadow, names the signers it trusts.
    pems = {pem for section in context.policy_sections.get(SignalFamily.PROVENANCE, ())
            for signer in section.get("trusted_signers", []) for pem in certificates(signer["certificate"])}
    return ProvenanceHandler(tuple(sorted(pems, key=fingerprint)), max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"state": "valid", "trusted_by": [], "remix_of": None, "claim_generator": "example-generator 1.0",
                "signer": {"subject": "CN=example generator", "issuer": "CN=Example CA", "serial": "1", "alg": "Es256"},
                "actions": ["c2pa.created"], "ingredients": [], "failures": [], "moderation": None}
    return Signal(SignalFamily.PROVENANCE, "c2pa", "example", ok=True,
                  findings=(Finding("C2PA manifest valid", None, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.PROVENANCE,
    summary="the clip's C2PA manifest: present, valid, unaltered, and from a trusted signer",
    order=1,
    reasons={ReasonKind.PROVENANCE: 2},
    handler=_handler,
    rule=provenance_rule,
    check_policy=check_provenance_policy,
    view=provenance_view,
    example=_example,
    example_policy={"generated_attr": "generator", "trusted_signers": [], "verdict": "review",
                    "parent_mismatch": "review"},
    bench=("provenance", "bench.provenance:run_provenance_bench"),
)
