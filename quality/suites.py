"""The expectation suites, as code. Each expectation carries `meta.check` (a stable name tests and
alerts use) and `meta.problem` (what a failure means, in words an operator acts on)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import great_expectations as gx
import pandas as pd
from great_expectations.expectations import Expectation

from clipguard.core.contracts import ID_PATTERN, MAX_PROMPT_CHARS, VERDICTS

ALLOWED_SCHEMES = ("file",)
CLOCK_SKEW_S = 60.0
# Below this many decisions a reference window says little; the default bounds apply instead.
MIN_REFERENCE = 50


def _meta(check: str, problem: str) -> dict[str, str]:
    return {"check": check, "problem": problem}


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float


@dataclass(frozen=True)
class DriftBounds:
    """Where the verdict mix, the explicit scores and the cameo share usually sit.

    The defaults only catch the absurd (everything allowed, every clip explicit); bounds learned
    from a reference window of real traffic are tighter."""

    allow_share: Bounds = Bounds(0.05, 0.99)
    review_share: Bounds = Bounds(0.0, 0.5)
    explicit_mean: Bounds = Bounds(0.0, 0.3)
    cameo_share: Bounds = Bounds(0.0, 0.8)
    learned_from: int = 0

    @classmethod
    def learn(cls, decisions: pd.DataFrame, events: pd.DataFrame) -> DriftBounds:
        """Bounds from a reference window: its share or mean, plus a margin of four standard
        errors or 0.1, whichever is wider."""
        if len(decisions) < MIN_REFERENCE:
            return cls()
        return cls(allow_share=_around(decisions["is_allow"]), review_share=_around(decisions["is_review"]),
                   explicit_mean=_around(decisions["explicit_max"].dropna()),
                   cameo_share=_around(events["has_cameo"]) if len(events) >= MIN_REFERENCE else cls.cameo_share,
                   learned_from=len(decisions))


def _around(values: pd.Series) -> Bounds:
    if values.empty:
        return Bounds(0.0, 1.0)
    mean, spread = float(values.mean()), float(values.std(ddof=0))
    margin = max(0.1, 4 * spread / math.sqrt(len(values)))
    return Bounds(max(0.0, mean - margin), min(1.0, mean + margin))


def clip_events(bounds: DriftBounds) -> list[Expectation]:
    e = gx.expectations
    present = [e.ExpectColumnValuesToNotBeNull(column=c, meta=_meta(f"{c}_present", f"events without {c}"))
               for c in ("clip_id", "creator_id", "media_uri", "created_at")]
    pattern = [e.ExpectColumnValuesToMatchRegex(column=c, regex=ID_PATTERN.pattern,
                                                meta=_meta(f"{c}_pattern", f"{c} outside 1-128 of [A-Za-z0-9._:-]"))
               for c in ("clip_id", "creator_id")]
    schemes = "|".join(ALLOWED_SCHEMES)
    return [*present, *pattern,
            e.ExpectColumnValuesToBeUnique(column="clip_id", meta=_meta("clip_id_unique",
                                                                        "the same clip_id twice in one batch")),
            e.ExpectColumnValuesToMatchRegex(column="media_uri", regex=f"^(?:{schemes})://",
                                             meta=_meta("media_uri_scheme", f"media_uri not {schemes}://")),
            e.ExpectColumnValuesToBeInSet(column="created_at_parsed", value_set=[True],
                                          meta=_meta("created_at_parseable", "created_at is not ISO-8601 with a zone")),
            e.ExpectColumnValuesToBeBetween(column="created_at_age_s", min_value=-CLOCK_SKEW_S,
                                            meta=_meta("created_at_not_future", "created_at in the future")),
            e.ExpectColumnValuesToBeBetween(column="prompt_length", min_value=0, max_value=MAX_PROMPT_CHARS,
                                            meta=_meta("prompt_length", f"prompt over {MAX_PROMPT_CHARS} chars")),
            e.ExpectColumnMeanToBeBetween(column="has_cameo", min_value=bounds.cameo_share.low,
                                          max_value=bounds.cameo_share.high,
                                          meta=_meta("cameo_share", "share of events with cameos outside its range"))]


def decision_log(bounds: DriftBounds) -> list[Expectation]:
    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeInSet(column="verdict", value_set=list(VERDICTS),
                                      meta=_meta("verdict_allowed", "verdict outside allow|review|block|takedown")),
        e.ExpectColumnValuesToBeBetween(column="reason_count", min_value=1, row_condition='verdict != "allow"',
                                        condition_parser="pandas",
                                        meta=_meta("reasons_for_non_allow", "a non-allow decision without a reason")),
        e.ExpectColumnValuesToNotBeNull(column="policy_version",
                                        meta=_meta("policy_version_present", "a decision without policy_version")),
        e.ExpectColumnValuesToBeBetween(column="model_count", min_value=1,
                                        meta=_meta("models_present", "a decision that names no model")),
        e.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=0,
                                        meta=_meta("latency_non_negative", "negative latency_ms")),
        e.ExpectColumnValuesToBeUnique(column="clip_id", row_condition='source == "gate"', condition_parser="pandas",
                                       meta=_meta("one_gate_decision_per_clip", "a clip with two gate decisions")),
        e.ExpectColumnMeanToBeBetween(column="is_allow", min_value=bounds.allow_share.low,
                                      max_value=bounds.allow_share.high,
                                      meta=_meta("allow_share", "the share of allow decisions drifted")),
        e.ExpectColumnMeanToBeBetween(column="is_review", min_value=bounds.review_share.low,
                                      max_value=bounds.review_share.high,
                                      meta=_meta("review_share", "the share of review decisions drifted")),
        e.ExpectColumnMeanToBeBetween(column="explicit_max", min_value=bounds.explicit_mean.low,
                                      max_value=bounds.explicit_mean.high,
                                      meta=_meta("explicit_score_mean", "the explicit score distribution drifted")),
    ]


def registry_claims() -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToBeBetween(
        column="reference_count", min_value=1, meta=_meta("claim_has_reference", "a claim without a reference"))]


def registry_cameos() -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToBeBetween(
        column="photo_count", min_value=1,
        meta=_meta("cameo_has_embedding", "an enrolled cameo without a face embedding: the gate cannot see them"))]


def registry_citations() -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToBeInSet(
        column="claim_status", value_set=["active"],
        meta=_meta("no_decision_on_withdrawn_claim", "a standing decision cites a withdrawn or missing claim"))]
