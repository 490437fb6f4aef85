"""Reading a clip's C2PA manifest store into what the policy judges: whether a manifest is there,
whether it validates, whether its hard binding to the bytes holds, and which trusted anchor, if
any, its signer chains to.

c2pa does the cryptography (signature, certificate chain, hashes); it does not say which anchor
a chain ended at, so a clip that validates against several is read once per anchor to name them.
Nothing is fetched: remote manifests and OCSP are off."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import c2pa

from classifiers.provenance.report import ABSENT, INVALID, MODERATION, TAMPERED, VALID, ManifestReport
from classifiers.provenance.trust import fingerprint

# The hard bindings of C2PA 2.x: a mismatch means the bytes are not the ones that were signed.
_HARD_BINDING_FAILURES = {"assertion.bmffHash.mismatch", "assertion.dataHash.mismatch",
                          "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch"}
_UNTRUSTED = "signingCredential.untrusted"
_MAX_FAILURES = 10      # of the validation codes kept as evidence


def read_manifest(path: Path, anchors: Sequence[str] = ()) -> ManifestReport:
    """The manifest store of the file at `path`, validated against the PEM trust `anchors`."""
    try:
        reader = c2pa.Reader.try_create(str(path), context=_context(anchors))
        if reader is None:
            return ManifestReport(ABSENT)
        with reader:
            return _report(reader, path, anchors)
    except c2pa.C2paError as exc:       # a manifest store that does not parse: not a valid one
        return ManifestReport(INVALID, failures=({"code": "manifest.unreadable", "explanation": str(exc)[:300]},))


def _report(reader: c2pa.Reader, path: Path, anchors: Sequence[str]) -> ManifestReport:
    results = reader.get_validation_results() or {}
    failures = [f for f in results.get("activeManifest", {}).get("failure", [])]
    codes = {f["code"] for f in failures}
    if codes & _HARD_BINDING_FAILURES:
        state = TAMPERED
    elif codes - {_UNTRUSTED}:
        state = INVALID
    else:
        state = VALID
    trusted = state == VALID and _UNTRUSTED not in codes and bool(anchors)
    active = reader.get_active_manifest() or {}
    return ManifestReport(
        state=state,
        trusted_by=_anchors_trusting(path, anchors) if trusted else (),
        signer=_signer(reader, active),
        claim_generator=_claim_generator(active),
        actions=tuple(a.get("action", "?") for assertion in active.get("assertions", [])
                      if assertion.get("label", "").startswith("c2pa.actions")
                      for a in assertion.get("data", {}).get("actions", [])),
        ingredients=tuple({"title": i.get("title"), "relationship": i.get("relationship"),
                           "manifest": i.get("active_manifest")} for i in active.get("ingredients", [])),
        failures=tuple({"code": f["code"], "explanation": f.get("explanation", "")[:200]}
                       for f in failures if f["code"] != _UNTRUSTED)[:_MAX_FAILURES],
        moderation=next((a.get("data") for a in active.get("assertions", []) if a.get("label") == MODERATION), None),
    )


def _anchors_trusting(path: Path, anchors: Sequence[str]) -> tuple[str, ...]:
    """The anchors the file's signer chains to. With one anchor, the read that trusted it says so."""
    if len(anchors) == 1:
        return (fingerprint(anchors[0]),)
    trusting = []
    for anchor in anchors:
        with c2pa.Reader(str(path), context=_context([anchor])) as reader:
            if reader.get_validation_state() == "Trusted":
                trusting.append(fingerprint(anchor))
    return tuple(trusting)


def _signer(reader: c2pa.Reader, active: dict[str, Any]) -> dict[str, Any]:
    """The signing certificate's subject and issuer (crJSON has the full names; the manifest's
    signature_info only the common name)."""
    info = active.get("signature_info", {})
    signer = {"subject": info.get("common_name"), "issuer": info.get("issuer"),
              "serial": info.get("cert_serial_number"), "alg": info.get("alg")}
    try:
        manifests = json.loads(reader.crjson())["manifests"]
        certificate = next(m for m in manifests if m["label"] == active.get("label"))["signature"]["certificateInfo"]
    except (c2pa.C2paError, KeyError, StopIteration, TypeError, ValueError):
        return signer
    return {**signer, "subject": _dn(certificate.get("subject")) or signer["subject"],
            "issuer": _dn(certificate.get("issuer")) or signer["issuer"]}


def _dn(name: Any) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in name.items()) if isinstance(name, dict) and name else None


def _claim_generator(active: dict[str, Any]) -> str | None:
    info = active.get("claim_generator_info") or []
    if not info:
        return active.get("claim_generator")
    first = info[0]
    return f"{first.get('name', '?')} {first.get('version', '')}".strip()


def _context(anchors: Sequence[str]) -> c2pa.Context:
    settings: dict[str, Any] = {"verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False}}
    if anchors:
        settings["trust"] = {"trust_anchors": "".join(anchors)}
    return c2pa.Context.from_dict(settings)
