"""Prompt alias matching: does the prompt name a claimed work, however it is spelt?

Case-folded, accents stripped, leetspeak undone, and tolerant of spacing: "Sp0nge Bob" matches
"SpongeBob". Matching is on whole prompt words, joined in runs, so "rick" does not match
"bricks". An alias match alone only sends the clip to review: names are cheap to type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clipguard.core.contracts import check_text

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
MAX_ALIASES = 100
MAX_ALIAS_CHARS = 200
MAX_RUN = 4          # an alias may be split over at most this many prompt words
MIN_ALIAS_CHARS = 3  # shorter aliases match too much by accident


def normalize(text: str) -> list[str]:
    """Words of `text`, case-folded, without accents, with leetspeak digits read as letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(LEET)
    return re.findall(r"[^\W_]+", plain)


@dataclass(frozen=True)
class Alias:
    claim_id: str
    title: str
    action: str
    text: str
    lang: str


@dataclass(frozen=True)
class AliasMatch:
    alias: Alias
    words: str      # the prompt words that matched, as written after normalising


class AliasIndex:
    def __init__(self, aliases: Iterable[Alias] = ()):
        self._by_key: dict[str, list[Alias]] = {}
        for alias in aliases:
            key = "".join(normalize(alias.text))
            if len(key) >= MIN_ALIAS_CHARS:
                self._by_key.setdefault(key, []).append(alias)

    def __len__(self) -> int:
        return sum(map(len, self._by_key.values()))

    def query(self, prompt: str | None) -> list[AliasMatch]:
        """One match per claim, for the first run of prompt words that spells one of its aliases."""
        words = normalize(prompt or "")
        found: dict[str, AliasMatch] = {}
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + MAX_RUN) + 1):
                for alias in self._by_key.get("".join(words[start:end]), ()):
                    found.setdefault(alias.claim_id, AliasMatch(alias, " ".join(words[start:end])))
        return list(found.values())


def parse_alias(raw: str) -> tuple[str, str]:
    """`TEXT` or `TEXT@LANG` (LANG a 2-3 letter code) -> (text, lang); lang "und" when not given."""
    text, sep, lang = raw.rpartition("@")
    if sep and re.fullmatch(r"[A-Za-z]{2,3}", lang) and text.strip():
        return text.strip(), lang.lower()
    return raw.strip(), "und"


def check_aliases(aliases: Sequence[tuple[str, str]]) -> None:
    if len(aliases) > MAX_ALIASES:
        raise ValueError(f"{len(aliases)} aliases; a claim takes at most {MAX_ALIASES}")
    for text, _ in aliases:
        check_text(text, "an alias", MAX_ALIAS_CHARS)
        if len("".join(normalize(text))) < MIN_ALIAS_CHARS:
            raise ValueError(f"alias {text!r} is too short to match safely (at least {MIN_ALIAS_CHARS} letters)")
