"""Signers as a policy names them: PEM certificates, each known by the SHA-256 of its DER bytes.
Standard library only, so the policy side can read them without loading C2PA."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def certificates(pem: str) -> list[str]:
    """Every certificate in a PEM text, each as its own PEM block; ValueError when there is none
    or one is not base64."""
    blocks = []
    for body in _PEM_BLOCK.findall(pem):
        _der(body)
        blocks.append(f"-----BEGIN CERTIFICATE-----\n{body.strip()}\n-----END CERTIFICATE-----\n")
    if not blocks:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    return blocks


def fingerprint(pem_block: str) -> str:
    """The SHA-256 of one certificate's DER bytes, as lower-case hex: what `openssl x509
    -fingerprint -sha256` prints, without the colons."""
    match = _PEM_BLOCK.search(pem_block)
    if match is None:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    return hashlib.sha256(_der(match.group(1))).hexdigest()


def _der(body: str) -> bytes:
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"a PEM certificate is not valid base64: {exc}") from None
