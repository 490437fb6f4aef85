from dataclasses import replace
from pathlib import Path

import pytest

from clipguard.core.signals import Finding, Signal
from policies.engine import PolicyError, decide
from usecases.policy_files import load_policy

# The character rule on its own: the packaged policy also requires explicit.
POLICY = replace(load_policy(), required_signals=("character",))


def character(*findings: Finding, ok: bool = True) -> dict[str, Signal]:
    return {"character": Signal("character", "pdq+phash", "v1", ok=ok, findings=findings,
                                error=None if ok else "boom")}


def hit(method: str, distance: int, action: str = "block", frame: int = 12, claim: str = "c1") -> Finding:
    return Finding("resembles", 0.9, {"method": method, "distance": distance, "action": action,
                                      "title": "Chelsea", "claim_id": claim, "reference_id": "r1", "frame": frame})


def test_the_packaged_policy_loads_with_a_version_and_fails_closed():
    packaged = load_policy()
    assert packaged.version and packaged.label.startswith("default@")
    assert {"character", "explicit"} <= set(packaged.required_signals)
    assert decide({}, packaged).verdict == "review"


def test_no_findings_allow_with_no_reasons():
    ruling = decide(character(), POLICY)
    assert (ruling.verdict, ruling.reasons) == ("allow", ())


def test_a_match_applies_the_claims_action_with_evidence():
    ruling = decide(character(hit("pdq", 10, action="takedown", frame=48)), POLICY)
    assert ruling.verdict == "takedown"
    reason = ruling.reasons[0]
    assert reason.signal == "character" and reason.evidence["frame"] == 48 and "pdq distance 10" in reason.detail


def test_a_near_match_goes_to_review():
    limits = POLICY.signals["character"]["pdq"]
    match, near = limits["match_distance"], limits["review_distance"]
    assert decide(character(hit("pdq", match + 1)), POLICY).verdict == "review"
    assert decide(character(hit("pdq", near)), POLICY).verdict == "review"
    assert decide(character(hit("pdq", near + 1)), POLICY).verdict == "allow"


def test_the_strongest_reason_wins_and_comes_first():
    ruling = decide(character(hit("phash", 6, claim="c2"), hit("pdq", 3, action="takedown")), POLICY)
    assert ruling.verdict == "takedown"
    assert [r.policy.split("/")[-1] for r in ruling.reasons] == ["character.pdq", "character.phash"]


@pytest.mark.parametrize("signals", [{}, character(ok=False)])
def test_a_required_signal_that_is_missing_or_failed_never_allows(signals):
    ruling = decide(signals, POLICY)
    assert ruling.verdict == "review"
    assert "required signal character" in ruling.reasons[0].detail


def test_a_media_error_is_a_review_with_its_code():
    ruling = decide({}, POLICY, media_error=("media_corrupt", "x.mp4 could not be decoded"))
    assert ruling.verdict == "review" and ruling.reasons[0].evidence == {"error_code": "media_corrupt"}


@pytest.mark.parametrize(("text", "complaint"), [
    ("name: p\nversion: 1\non_media_error: allow\n", "failures must map"),
    ("name: p\nversion: 1\nsignals: {telepathy: {}}\n", "no rule for signal"),
    ("name: p\nversion: 1\nsignals: {explicit: {}}\n", "malformed: KeyError 'review'"),
    ("name: p\nversion: 1\nsignals: {character: {pdq: {match_distance: 3}}}\n", "malformed: KeyError"),
    ("name: p\nversion: 1\nsignals: {character: {pdq: {match_distance: 50, review_distance: 40}}}\n",
     "bars are inconsistent"),
    ("version: 1\n", "malformed"),
    ("[unclosed", "malformed"),
])
def test_a_broken_policy_file_is_refused_with_a_reason(tmp_path: Path, text, complaint):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=complaint):
        load_policy(path)


def test_one_reason_per_claim_with_the_other_frames_in_its_evidence():
    ruling = decide(character(hit("phash", 6, frame=3), hit("pdq", 3, frame=12), hit("pdq", 20, frame=30),
                              hit("pdq", 4, claim="c2")), POLICY)
    assert [r.evidence["claim_id"] for r in ruling.reasons] == ["c1", "c2"]
    first = ruling.reasons[0]
    assert first.evidence["frame"] == 12 and first.evidence["distance"] == 3
    assert [(a["frame"], a["method"]) for a in first.evidence["also"]] == [(30, "pdq"), (3, "phash")]
    assert first.detail.endswith("2 more finding(s) agree") and "also" not in ruling.reasons[1].evidence
