"""The likeness and consent rule that the faces and voice families share.

likeness: a public figure's face or voice, unless the figure's own cameo permits this creator.
consent: a cameo owner's, when their permission does not include this creator. A face or voice
that matches nobody is no reason at all. Whether a grant permits a creator is the consent
policy's answer (policies/consent.py), carried in the evidence by `galleries.attributed`.
Each family says what its medium is called, where in the clip a finding was, and which of a
finding's keys describe one sighting of the person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from classifiers.galleries import SUBJECT_NOUN
from clipguard.core.contracts import Reason
from clipguard.core.measures import MATCHES, Measure, one_reason_each
from clipguard.core.signals import Finding, Signal


@dataclass(frozen=True)
class Medium:
    noun: str                                   # "face", "voice"
    where: Callable[[Mapping[str, Any]], str]   # a finding's place in the clip, as a reason says it
    sighting: Sequence[str]                     # evidence keys of one sighting, kept under `also`


def likeness_measure(medium: Medium, evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> Measure:
    """A distance to an enrolled person against the bars of the model that measured it."""
    return Measure.distance(f"{medium.noun} distance", evidence["distance"], limits["match_distance"],
                            limits["review_distance"])


def likeness_bars(signal: Signal, config: Mapping[str, Any], policy: str, family: str
                  ) -> tuple[Mapping[str, Any] | None, list[tuple[str, Reason]]]:
    """The policy's bars for the signal's model, or a review saying the policy has none."""
    limits = config["models"].get(signal.model)
    if limits is None:
        return None, [("review", Reason(f"{policy}/{family}", family,
                                        f"the policy has no {family} bars for model {signal.model!r}",
                                        None, {"model": signal.model}))]
    return limits, []


def likeness_reason(medium: Medium, signal: Signal, finding: Finding, limits: Mapping[str, Any],
                    policy: str) -> tuple[str, Reason] | None:
    """One seen or heard person close to an enrolled one, as a likeness or consent reason."""
    evidence = finding.evidence
    if evidence["creator_permitted"]:
        return None
    measure = likeness_measure(medium, evidence, limits)
    if measure.strength is None:
        return None
    kind = "likeness" if evidence["kind"] == "figure" else "consent"
    permission = evidence["permission"]
    consent = (f"whose permission ({permission}) does not include this creator" if permission
               else "who has given no consent through a cameo")
    runner_up = evidence.get("next_closest")
    closer = (f"; {runner_up['name']!r} is next at {runner_up['distance']:.3f}, {runner_up['margin']:.3f} farther"
              if runner_up else "")
    detail = (f"{medium.where(evidence)}: a {medium.noun} {measure.strength} {SUBJECT_NOUN[evidence['kind']]} "
              f"{evidence['name']!r} (distance {measure.value:.3f}; {measure.bars}{closer}), {consent}")
    verdict = "block" if measure.strength == MATCHES else "review"
    # Faces and voice both give likeness and consent reasons: `family` says whose this one is.
    return verdict, Reason(f"{policy}/{kind}", kind, detail, finding.score,
                           {**evidence, "family": signal.name, "model": signal.model,
                            "model_version": signal.model_version})


def one_reason_per_person(medium: Medium, judged: Sequence[tuple[str, Reason]]) -> list[tuple[str, Reason]]:
    """One reason per person matched: their closest sighting, with the others in the evidence."""
    def sighting(verdict: str, reason: Reason) -> dict[str, Any]:
        return {"verdict": verdict, **{k: reason.evidence[k] for k in medium.sighting if k in reason.evidence}}

    return one_reason_each(judged, lambda r: (r.evidence.get("kind"), r.evidence.get("subject_id")), sighting)


def check_likeness_bars(family: str, section: Mapping[str, Any]) -> None:
    for model, limits in section["models"].items():
        if not 0 < limits["match_distance"] <= limits["review_distance"]:
            raise ValueError(f"{family} bars for {model} need 0 < match <= review")
