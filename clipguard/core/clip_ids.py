"""Clip ids for files people name however they like. The gate's ids come from the platform;
`clipguard scan` has only files (`My clip (1).mp4`, `été.mov`, `obama+biden__1.mp4`), and each
needs an id the contracts accept (1-128 of [A-Za-z0-9._:-]) that no other file in the run shares.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath

from clipguard.core.contracts import ID_PATTERN

ID_MAX = 128
_OUTSIDE_ID = re.compile(r"[^A-Za-z0-9._:-]+")
NAME_HASH_HEX = 8       # tells apart names that fold to the same text
KEY_HASH_HEX = 12       # tells apart files whose ids collide anyway (same name in two folders)


def id_from_name(name: str) -> str:
    """A file name without its extension, as it is when that is a valid id. Otherwise: accents
    folded to ASCII, every run of other characters one '-', cut to fit, and a short hash of the
    whole name after it, so `a+b.mp4` and `a b.mp4` stay apart from each other and from `a-b.mp4`."""
    stem = PurePath(name).stem
    if ID_PATTERN.match(stem):
        return stem
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    base = _OUTSIDE_ID.sub("-", folded).strip("-") or "clip"
    return _suffixed(base, _hex(name, NAME_HASH_HEX))


def id_from_digest(sha256_hex: str) -> str:
    """A file's id from its content: the same bytes get the same id under any name."""
    return f"sha256-{sha256_hex[:32]}"


def distinct_ids(ids: Sequence[str], keys: Sequence[str]) -> list[str | None]:
    """`ids` with each one that two inputs share suffixed by a hash of that input's key (its
    resolved path), so every input keeps an id of its own; None for an input whose id collides
    even then (a 48-bit clash, or a file named like another's hashed id)."""
    shared = {clip_id for clip_id, n in Counter(ids).items() if n > 1}
    out = [_suffixed(clip_id, _hex(key, KEY_HASH_HEX)) if clip_id in shared else clip_id
           for clip_id, key in zip(ids, keys, strict=True)]
    counts = Counter(out)
    return [clip_id if counts[clip_id] == 1 else None for clip_id in out]


def _suffixed(base: str, suffix: str) -> str:
    return f"{base[:ID_MAX - len(suffix) - 1]}-{suffix}"


def _hex(text: str, digits: int) -> str:
    # surrogateescape: a Linux file name need not be UTF-8, and Python hands such bytes over as
    # lone surrogates.
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:digits]
