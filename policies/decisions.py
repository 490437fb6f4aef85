"""Every Decision clipguard makes is built here, from what the caller already knows; pure, with
the clock passed in. The gate's comes from a Ruling; the others record a person's call or a
retroscan's match over the clip's earlier decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import Decision, Reason, isoformat
from clipguard.core.vocab import Source, Verdict
from policies.engine import Ruling


def gate_decision(clip_id: str, ruling: Ruling, policy_label: str, models: Mapping[str, str],
                  received_at: float, now: dt.datetime) -> Decision:
    """The gate's decision; latency runs from when clipguard first saw the event (epoch seconds)."""
    return Decision(clip_id=clip_id, verdict=ruling.verdict, reasons=ruling.reasons, policy_version=policy_label,
                    models=dict(models), decided_at=isoformat(now),
                    latency_ms=round(max(0.0, now.timestamp() - received_at) * 1000, 1))


def retroscan_takedown(clip_id: str, reason: Reason, policy_label: str, model: str, now: dt.datetime) -> Decision:
    """A published clip taken down because it matches something filed after it was decided."""
    return Decision(clip_id, Verdict.TAKEDOWN, (reason,), policy_label, {"retroscan": model}, isoformat(now), 0.0,
                    source=Source.RETROSCAN)


def analyst_decision(clip_id: str, action: str, note: str, item_id: str, item_kind: str, analyst: str,
                     previous: Mapping[str, Any] | None, queued_at: dt.datetime, now: dt.datetime) -> Decision:
    """An analyst's verdict on a queued item, over the clip's earlier decision (if any)."""
    return Decision(
        clip_id=clip_id, verdict=action,
        reasons=(Reason(f"analyst/{item_kind}", "analyst", note, None,
                        {"item_id": item_id, "analyst": analyst,
                         "previous_verdict": previous["verdict"] if previous else None}),),
        policy_version=previous["policy_version"] if previous else "analyst",
        models=previous["models"] if previous else {},
        decided_at=isoformat(now),
        latency_ms=round((now - queued_at).total_seconds() * 1000, 1),
        source=Source.ANALYST)


def owner_removal(clip_id: str, owner: str, reason: str, seen: Mapping[str, Any], previous: Mapping[str, Any],
                  now: dt.datetime) -> Decision:
    """A person seen in a clip asked for its removal: a takedown at once, over any earlier decision."""
    return Decision(
        clip_id=clip_id, verdict=Verdict.TAKEDOWN,
        reasons=(Reason("owner/removal", "consent", f"{owner}, seen in this clip, asked for its removal: {reason}",
                        None, {**seen, "requested_by": owner, "previous_verdict": previous["verdict"]}),),
        policy_version=previous["policy_version"], models=previous["models"], decided_at=isoformat(now),
        latency_ms=0.0, source=Source.OWNER)


def lineage_review(clip_id: str, parent_id: str, root_id: str, generation: int, cause: str, policy_label: str,
                   now: dt.datetime) -> Decision:
    """A remix of a clip just taken down, in which the same claim or person was not found: never
    left up unseen, since what it was remixed from may still be in it in a form the check misses."""
    detail = (f"a remix ({generation} generation{'s' if generation > 1 else ''} down) of clip {root_id!r}, taken "
              f"down for {cause}; the same match was not found in this clip, so an analyst decides")
    return Decision(clip_id, Verdict.REVIEW, (Reason(f"{policy_label}/lineage", "lineage", detail, None,
                                                     {"parent_id": parent_id, "root_id": root_id,
                                                      "generation": generation, "cause": cause}),),
                    policy_label, {"retroscan": "lineage"}, isoformat(now), 0.0, source=Source.RETROSCAN)
