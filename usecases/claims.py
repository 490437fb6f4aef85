"""Filing a rights holder's claim, one implementation for `clipguard claims add` and
`POST /v1/claims`: aliases checked, every reference read and hashed, the claim stored, and a
takedown claim retroscanned over clips already published."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from classifiers.character.aliases import check_aliases, parse_alias
from classifiers.character.embeddings import ClipEmbedder
from clipguard.core.config import MediaLimits
from clipguard.core.contracts import check_text
from clipguard.core.vocab import ClaimAction
from media.uploads import Upload
from registry.claims import ClaimStore
from usecases.references import build_references
from usecases.retroscans import Retroscan


def file_claim(claims: ClaimStore, holder: str, title: str, action: str, references: Iterable[Upload],
               aliases: Sequence[str], limits: MediaLimits, embedder: ClipEmbedder | None,
               retroscan: Retroscan) -> str:
    """The new claim's id. Raises ValueError (BadUpload among them) before storing anything when
    an alias or a reference is unusable. The references are read one at a time, in order."""
    check_text(title, "a claim's title", 256)      # before the references are read, which is slow
    parsed = [parse_alias(a) for a in aliases]
    check_aliases(parsed)
    built = build_references(references, limits, embedder)
    claim_id = claims.add(holder, title, action, built, parsed)
    if action == ClaimAction.TAKEDOWN:
        claims.note(claim_id, holder, "retroscan", {"started": True})
        retroscan("--claim", claim_id)
    return claim_id
