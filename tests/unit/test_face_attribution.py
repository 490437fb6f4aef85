"""A face near two enrolled people is the closer one's: the evaluation saw a public figure's photo
also give a `consent` reason for an unrelated cameo owner. Exact index, real distances."""

from __future__ import annotations

import numpy as np

from classifiers.faces.handler import person_findings
from classifiers.faces.rule import face_rule
from classifiers.galleries import GalleryIndex
from clipguard.core.people import Gallery, Grant, Subject
from clipguard.core.signals import Signal
from policies.consent import permits
from usecases.policy_files import load_policy

FACES = load_policy().signals["faces"]
MODEL = "dlib-resnet-v1"
WHERE = {"person": 0, "frame": 3, "t": 3.0, "box": [0.1, 0.1, 0.2, 0.2], "sightings": 1}


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def gallery_around(face: np.ndarray, figure_at: float, owner_at: float) -> GalleryIndex:
    """A public figure and a cameo owner whose photos lie at the given distances from `face`."""
    away = unit(99) - face * float(unit(99) @ face)
    away /= np.linalg.norm(away)
    subjects = (Subject("figure", "fig-1", "A Famous Person"),
                Subject("cameo", "cam-1", "An Owner", Grant("only_me"), "owner-1"))
    vectors = np.stack([face + away * figure_at, face - away * owner_at]).astype(np.float32)
    return GalleryIndex(Gallery(subjects, (0, 1), vectors))


def seen(face: np.ndarray, figure_at: float, owner_at: float) -> list:
    return person_findings(gallery_around(face, figure_at, owner_at), MODEL, face, "creator-1", (), WHERE, permits)


def judged(findings: list) -> list:
    return face_rule(Signal("faces", MODEL, "v", ok=True, findings=tuple(findings)), FACES, "p@1", {})


def test_a_face_near_a_figure_and_a_cameo_owner_is_the_closer_ones_with_the_margin():
    findings = seen(unit(1), 0.40, 0.55)
    assert [f.evidence["subject_id"] for f in findings] == ["fig-1"]
    runner_up = findings[0].evidence["next_closest"]
    assert runner_up["subject_id"] == "cam-1" and runner_up["margin"] == round(0.55 - 0.40, 4)
    reasons = judged(findings)
    assert [(v, r.signal) for v, r in reasons] == [("block", "likeness")]      # and no consent reason
    assert "'An Owner' is next at 0.550, 0.150 farther" in reasons[0][1].detail


def test_the_owner_when_the_owner_is_closer():
    findings = seen(unit(2), 0.56, 0.42)
    assert [f.evidence["subject_id"] for f in findings] == ["cam-1"]
    reasons = judged(findings)
    assert [(v, r.signal) for v, r in reasons] == [("block", "consent")]


def test_a_face_near_one_person_only_has_no_runner_up():
    findings = seen(unit(3), 0.40, 0.95)
    assert len(findings) == 1 and "next_closest" not in findings[0].evidence
