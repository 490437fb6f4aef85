"""Writing C2PA manifests: a signed copy of a clip with a manifest of our making.

The gate signs its decisions this way (usecases/signing.py), and the fixtures sign clips as a
generator would. The key and certificate chain are an operator's PEM files; c2pa signs in
process, and reaches a timestamp authority only when one is configured."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

# IPTC's term for media made by a trained model, as C2PA's c2pa.created action records it.
GENERATED_BY_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME = "video/mp4"
_CURVES = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}


@dataclass(frozen=True)
class SigningKey:
    key_pem: bytes = field(repr=False)    # a secret: never in a log line or a traceback's locals
    chain_pem: bytes          # the signing certificate first, then its issuers
    alg: str                  # a C2paSigningAlg name, lower case: es256, ps256, ed25519, ...
    tsa_url: str | None = None

    @classmethod
    def from_files(cls, key: Path, certs: Path, tsa_url: str | None = None) -> SigningKey:
        """The operator's key and chain; the algorithm follows from the key."""
        key_pem = key.read_bytes()
        return cls(key_pem, certs.read_bytes(), algorithm_of(key_pem), tsa_url)

    def signer(self) -> c2pa.Signer:
        alg = c2pa.C2paSigningAlg[self.alg.upper()]
        tsa = self.tsa_url.encode() if self.tsa_url else None
        return c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, self.chain_pem, self.key_pem, tsa))


def algorithm_of(key_pem: bytes) -> str:
    """The C2PA signing algorithm for a private key: ES* by curve, PS256 for RSA, Ed25519."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the signing key is not an unencrypted PEM private key: {exc}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return _CURVES[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ValueError(f"C2PA cannot sign with a {type(key).__name__}; use EC P-256/384/521, RSA or Ed25519")


def sign_copy(source: Path, target: Path, manifest: Mapping[str, Any], key: SigningKey,
              about_source: bool = False) -> None:
    """Write `source` with `manifest` signed in to `target`. `about_source`: the new manifest
    says something about the source as it is (a decision), so it is chained to it: as an update
    of the source's own manifest where it has one, else as an edit whose parentOf ingredient is
    the source file. Without it, the manifest stands alone (a generator's, creating the clip)."""
    builder = c2pa.Builder(json.dumps(manifest))
    if about_source:
        signed = c2pa.Reader.try_create(str(source)) is not None
        builder.set_intent(c2pa.C2paBuilderIntent.UPDATE if signed else c2pa.C2paBuilderIntent.EDIT)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with key.signer() as signer, open(source, "rb") as src, open(partial, "w+b") as dst:
        builder.sign(signer, MIME, src, dst)
    partial.replace(target)     # a reader never sees half a signed file
