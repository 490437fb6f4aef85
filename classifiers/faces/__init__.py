"""The faces signal family: public figures' likeness and cameo owners' consent, by face."""

from __future__ import annotations

from classifiers.faces.rule import check_faces_policy, face_rule
from classifiers.faces.view import faces_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily


def _handler(context: HandlerContext) -> Handler:
    from classifiers.faces.handler import FaceHandler

    return FaceHandler(context.galleries, context.permits, context.settings.face_model_dir,
                       max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"kind": "figure", "subject_id": "figure-1", "name": "Example Person", "distance": 0.41,
                "person": 0, "frame": 0, "t": 0.0, "box": [0.25, 0.2, 0.3, 0.4], "sightings": 3,
                "thumbnail": "frames/example/0.jpg", "permission": None, "cameo_user": None, "declared": False,
                "creator_permitted": False}
    return Signal(SignalFamily.FACES, "dlib-resnet-v1", "example", ok=True,
                  findings=(Finding("frame 0: a face is 0.410 from public figure 'Example Person'", 0.59, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.FACES,
    summary="faces tracked through the clip, matched to enrolled public figures and cameo owners",
    order=20,
    # Harm to a person comes first in the review queue.
    reasons={ReasonKind.LIKENESS: 4, ReasonKind.CONSENT: 4},
    handler=_handler,
    rule=face_rule,
    check_policy=check_faces_policy,
    view=faces_view,
    example=_example,
    example_policy={"models": {"dlib-resnet-v1": {"match_distance": 0.575, "review_distance": 0.6}},
                    "declared": {"verdict": "review"}},
    bench=("faces", "bench.faces:run_face_bench"),
)
