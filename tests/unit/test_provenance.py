"""The provenance family's rule and trust list, on the evidence its handler writes (the
manifests themselves are read for real in tests/integration/test_provenance.py)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from classifiers.provenance.rule import check_provenance_policy, provenance_rule
from classifiers.provenance.signing import algorithm_of
from classifiers.provenance.trust import certificates, fingerprint
from clipguard.core.signals import Finding, Signal
from fixtures.provenance import Authority

GENERATOR = Authority.create("Generator CA")
SECTION = {"generated_attr": "generator", "verdict": "review", "parent_mismatch": "review",
           "trusted_signers": [{"name": "our-generator", "certificate": GENERATOR.pem}]}
DECLARED = {"generator": "sora-like"}


def signal(state: str = "valid", trusted_by: tuple[str, ...] = (fingerprint(GENERATOR.pem),),
           ingredients: tuple[dict, ...] = (), remix_of: str | None = None, failures: tuple[dict, ...] = ()) -> Signal:
    evidence = {"state": state, "trusted_by": list(trusted_by), "remix_of": remix_of,
                "signer": {"subject": "CN=gen", "issuer": "CN=Generator CA"}, "claim_generator": "gen 1.0",
                "actions": ["c2pa.created"], "ingredients": list(ingredients), "failures": list(failures),
                "moderation": None}
    return Signal("provenance", "c2pa", "test", ok=True, findings=(Finding(f"C2PA manifest {state}", None, evidence),))


def verdicts(sig: Signal, attrs: dict | None = None, section: dict | None = None) -> list[tuple[str, str]]:
    return [(v, r.detail) for v, r in provenance_rule(sig, section or SECTION, "p@1", attrs or {})]


def test_the_fingerprint_is_the_sha256_of_the_certificates_der():
    der = GENERATOR.certificate.public_bytes(serialization.Encoding.DER)
    assert fingerprint(GENERATOR.pem) == hashlib.sha256(der).hexdigest()
    other = Authority.create("Other CA")
    assert [fingerprint(p) for p in certificates(GENERATOR.pem + other.pem)] == [fingerprint(GENERATOR.pem),
                                                                                  fingerprint(other.pem)]


def test_a_declared_generated_clip_with_a_trusted_manifest_is_allowed_and_says_by_whom():
    [(verdict, detail)] = verdicts(signal(), DECLARED)
    assert verdict == "allow" and "trusted as our-generator" in detail and "made by gen 1.0" in detail


@pytest.mark.parametrize(("sig", "says"), [
    (signal("absent", trusted_by=()), "no C2PA manifest"),
    (signal("tampered", trusted_by=(), failures=({"code": "assertion.bmffHash.mismatch"},)), "hard binding fails"),
    (signal("invalid", trusted_by=(), failures=({"code": "claimSignature.mismatch"},)), "claimSignature.mismatch"),
    (signal("valid", trusted_by=()), "not a signer this policy trusts"),
    # Trusted by an anchor some other policy (a shadow) lists, not this one.
    (signal("valid", trusted_by=("ab" * 32,)), "not a signer this policy trusts"),
])
def test_a_declared_generated_clip_without_a_trusted_manifest_goes_to_review(sig: Signal, says: str):
    [(verdict, detail)] = verdicts(sig, DECLARED)
    assert verdict == "review" and says in detail and "came from the generator" in detail


def test_an_undeclared_clip_is_not_held_to_a_manifest():
    assert [v for v, _ in verdicts(signal("absent", trusted_by=()))] == ["allow"]
    assert [v for v, _ in verdicts(signal("tampered", trusted_by=()))] == ["allow"]


PARENT = ({"title": "parent-1", "relationship": "parentOf", "manifest": None},)


@pytest.mark.parametrize(("remix_of", "verdict"), [("parent-1", "allow"), ("parent-2", "review"), (None, "review")])
def test_a_trusted_manifest_naming_a_parent_must_agree_with_remix_of(remix_of: str | None, verdict: str):
    [(got, detail)] = verdicts(signal(ingredients=PARENT, remix_of=remix_of))
    assert got == verdict
    if verdict == "review":
        assert "names parent clip 'parent-1'" in detail


def test_an_untrusted_manifest_naming_a_parent_proves_nothing_either_way():
    assert [v for v, _ in verdicts(signal(trusted_by=(), ingredients=PARENT, remix_of="parent-2"))] == ["allow"]


@pytest.mark.parametrize("broken", [
    {"generated_attr": ""},
    {"verdict": "allow"},
    {"parent_mismatch": "maybe"},
    {"trusted_signers": [{"name": "x", "certificate": "not a certificate"}]},
    {"trusted_signers": [{"name": "x", "certificate": "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----"}]},
    {"trusted_signers": [{"certificate": GENERATOR.pem}]},
])
def test_a_broken_section_is_refused_with_what_is_wrong(broken: dict):
    with pytest.raises(ValueError, match="provenance"):
        check_provenance_policy({**SECTION, **broken})


def test_a_signing_keys_secret_never_shows_in_its_repr():
    key = GENERATOR.issue("generator")
    assert b"PRIVATE KEY" in key.key_pem and "PRIVATE KEY" not in repr(key)
    assert key.alg == algorithm_of(key.key_pem) == "es256"


def test_a_key_c2pa_cannot_sign_with_is_refused_by_name():
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        algorithm_of(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
