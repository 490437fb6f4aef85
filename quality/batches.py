"""Flattens events and decisions into the tables the expectation suites read, one row each.

Anything a producer can get wrong becomes a column here (a missing field is a null, an
unparseable timestamp a False), so the suites can say exactly what was wrong.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from clipguard.core.contracts import ContractError, parse_timestamp

EVENT_COLUMNS = ["clip_id", "creator_id", "media_uri", "created_at", "created_at_parsed", "created_at_age_s",
                 "prompt_length", "has_cameo"]
DECISION_COLUMNS = ["clip_id", "verdict", "source", "reason_count", "policy_version", "model_count", "latency_ms",
                    "is_allow", "is_review", "explicit_max"]


def read_json_lines(text: str) -> list[Any]:
    """One value per non-blank line; a line that is not JSON becomes None, which every check sees."""
    values = []
    for line in text.splitlines():
        if line.strip():
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError:
                values.append(None)
    return values


def event_table(events: Iterable[Any], now: dt.datetime) -> pd.DataFrame:
    return pd.DataFrame([_event_row(e if isinstance(e, Mapping) else {}, now) for e in events],
                        columns=EVENT_COLUMNS)


def _event_row(event: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    try:
        created = parse_timestamp(event.get("created_at"), "created_at")
    except ContractError:
        created = None
    prompt = event.get("prompt")
    cameos = event.get("cameo_ids")
    return {
        "clip_id": _text(event.get("clip_id")),
        "creator_id": _text(event.get("creator_id")),
        "media_uri": _text(event.get("media_uri")),
        "created_at": _text(event.get("created_at")),
        "created_at_parsed": created is not None,
        "created_at_age_s": (now - created).total_seconds() if created else None,
        "prompt_length": len(prompt) if isinstance(prompt, str) else 0,
        "has_cameo": 1.0 if isinstance(cameos, list) and cameos else 0.0,
    }


def _text(value: Any) -> str | None:
    # Great Expectations writes failing values into its Data Docs unescaped, and producers control
    # these. Escaping is one-to-one and leaves the id and scheme checks' outcomes as they were.
    return html.escape(value) if isinstance(value, str) and value else None


def decision_table(decisions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([_decision_row(d) for d in decisions], columns=DECISION_COLUMNS)


def _decision_row(decision: Mapping[str, Any]) -> dict[str, Any]:
    reasons = decision.get("reasons") or []
    explicit = [r.get("score") for r in reasons if r.get("signal") == "explicit" and r.get("score") is not None]
    verdict = decision.get("verdict")
    return {
        "clip_id": decision.get("clip_id"),
        "verdict": verdict,
        "source": decision.get("source"),
        "reason_count": len(reasons),
        "policy_version": decision.get("policy_version") or None,
        "model_count": len(decision.get("models") or {}),
        "latency_ms": decision.get("latency_ms"),
        "is_allow": 1.0 if verdict == "allow" else 0.0,
        "is_review": 1.0 if verdict == "review" else 0.0,
        "explicit_max": max(explicit) if explicit else None,
    }


def claim_citation_table(decisions: Iterable[Mapping[str, Any]], claim_status: Mapping[str, str]) -> pd.DataFrame:
    """One row per (current non-allow decision, claim it cites), with the claim's status now."""
    rows = [{"clip_id": d["clip_id"], "claim_id": claim_id, "claim_status": claim_status.get(claim_id, "missing")}
            for d in decisions if d.get("verdict") != "allow"
            for claim_id in {(r.get("evidence") or {}).get("claim_id") for r in d.get("reasons") or []} - {None}]
    return pd.DataFrame(rows, columns=["clip_id", "claim_id", "claim_status"])
