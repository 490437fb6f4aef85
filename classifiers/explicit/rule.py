"""The explicit family's rule: block on the mean of the clip's top frames, review on its single
highest frame, with stricter bars for the audiences the policy names. Always one reason, even
for allow, so every decision carries the clip's explicit score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import Reason
from clipguard.core.signals import Signal


def explicit_limits(config: Mapping[str, Any], audience: Any) -> dict[str, Any]:
    """The explicit bars for a clip's audience: the audience's own over the defaults."""
    return {**config, **config.get("audiences", {}).get(audience, {})}


def explicit_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                  attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    audience = attrs.get("audience")
    limits = explicit_limits(config, audience)
    evidence = signal.findings[0].evidence
    topk, peak = evidence["score_topk_mean"], evidence["score_max"]
    if topk >= limits["block"]:
        verdict = "block"
    elif peak >= limits["review"]:
        verdict = "review"
    else:
        verdict = "allow"
    bar = f"block >= {limits['block']} on top-{evidence['k']} mean, review >= {limits['review']} on max"
    detail = (f"explicit top-{evidence['k']} mean {topk:.3f}, max {peak:.3f} at frame {evidence['frame']} "
              f"({bar}{f', audience {audience}' if audience in config.get('audiences', {}) else ''})")
    return [(verdict, Reason(f"{policy}/explicit", "explicit", detail, peak,
                             {**evidence, "model": signal.model, "model_version": signal.model_version}))]


def check_explicit_policy(section: Mapping[str, Any]) -> None:
    for name, limits in {"default": section, **section.get("audiences", {})}.items():
        merged = {**section, **limits}
        if not 0 <= merged["review"] <= merged["block"] <= 1:
            raise ValueError(f"explicit ({name}) needs 0 <= review <= block <= 1")
