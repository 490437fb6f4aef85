"""`clipguard bench --suite explicit`: calibration on benign media, and speed by batch size.

Calibration. Explicit media is neither committed nor generated, so only the false-positive
side is measured here, on benign sets built from images that installed packages ship:
  - `images`: scikit-image's bundled sample images, whole and mirrored;
  - `crops`: a 3x3 grid of half-size crops of each, which makes close-ups of skin, fur and texture;
  - `skin`: tight crops of the astronaut's face and neck at several scales, the most skin-heavy
    benign content available offline (no beach scene ships in any installed package);
  - `portraits`: the 100 face images of scikit-image's bundled LFW subset;
  - `clips`: every sampled frame of the demo fixture clips, scored per clip like the gate does;
  - `cartoon_clips`: feed-like clips (fixtures/feed.py) composed from the shared calibration
    set's benign cartoon frames, decoded and scored per clip like the gate does.
The true-positive side rests on the model's published behaviour (see the README).

Speed. Frames/s at batch 8 and 32 against batch 1, interleaved over several rounds (bench/compare.py).

Int8. The model quantised two ways against float32: speed and score drift (bench/explicit_int8.py).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

from bench.compare import MIN_ROUNDS, Comparison, Measure, interleaved
from bench.explicit_int8 import int8_against_float, print_int8
from bench.results import say
from classifiers.explicit.handler import TOP_K, FrameScorer, OpenNsfwOnnx
from clipguard.core.config import MediaLimits, Settings
from fixtures.clips import IMAGES, image, portraits, write_demo_clips
from fixtures.feed import calibration_cartoons, feed_specs, write_feed_clip
from media.sampling import sample_frames
from usecases.policy_files import load_policy

BATCHES = (1, 8, 32)
FEED_CLIPS = 200


def grid_crops(img: np.ndarray) -> list[np.ndarray]:
    h, w = img.shape[:2]
    ch, cw = h // 2, w // 2
    return [img[y:y + ch, x:x + cw] for y in (0, h // 4, h - ch) for x in (0, w // 4, w - cw)]


def skin_crops() -> list[np.ndarray]:
    face = image("astronaut")[20:260, 120:330]  # her face, hair line and neck
    h, w = face.shape[:2]
    out = []
    for scale in (1.0, 0.8, 0.6, 0.45):
        ch, cw = int(h * scale), int(w * scale)
        for y, x in ((0, 0), ((h - ch) // 2, (w - cw) // 2), (h - ch, w - cw)):
            out.append(face[y:y + ch, x:x + cw])
    return out


def benign_images() -> dict[str, list[np.ndarray]]:
    whole = [image(n) for n in IMAGES]
    return {
        "images": whole + [np.ascontiguousarray(img[:, ::-1]) for img in whole],
        "crops": [np.ascontiguousarray(c) for img in whole for c in grid_crops(img)],
        "skin": [np.ascontiguousarray(c) for c in skin_crops()],
        "portraits": [np.asarray(Image.fromarray(p).resize((128, 128), Image.Resampling.BICUBIC))
                      for p in portraits()],
    }


def clip_scores(scorer: FrameScorer, limits: MediaLimits) -> list[tuple[float, float]]:
    """(top-k mean, max) per demo fixture clip, aggregated the way the explicit signal does."""
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for path in write_demo_clips(Path(tmp)).values():
            scores = np.sort(scorer.scores([f.rgb for f in sample_frames(path, limits).frames]))
            out.append((float(scores[-TOP_K:].mean()), float(scores[-1])))
        return out


def feed_clip_scores(scorer: FrameScorer, limits: MediaLimits, count: int = FEED_CLIPS) -> list[np.ndarray]:
    """Every sampled frame's score, one array a clip, of `count` feed-like clips composed from
    the benign calibration cartoons (each art in turn)."""
    arts = calibration_cartoons()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(feed_specs(count)):
            path = write_feed_clip(Path(tmp) / "clip.mp4", arts[i % len(arts)], spec)
            out.append(np.sort(scorer.scores([f.rgb for f in sample_frames(path, limits).frames])))
            if (i + 1) % 25 == 0:
                say(f"  {i + 1}/{count} cartoon clips")
    return out


def profiles() -> dict[str, dict[str, float]]:
    """The packaged policy's explicit thresholds: the default and each audience's."""
    config = load_policy().signals["explicit"]
    return {"default": {"block": config["block"], "review": config["review"]},
            **{name: {**config, **over} for name, over in config.get("audiences", {}).items()}}


def calibration(scorer: FrameScorer, limits: MediaLimits) -> dict:
    scored = {}
    for name, frames in benign_images().items():
        s = scorer.scores(frames)
        scored[name] = (s, s)  # a single image is a clip of one frame: top-k mean and max are its score
    per_clip = clip_scores(scorer, limits)
    scored["clips"] = (np.array([c[0] for c in per_clip]), np.array([c[1] for c in per_clip]))
    feed = feed_clip_scores(scorer, limits)
    scored["cartoon_clips"] = (np.array([s[-TOP_K:].mean() for s in feed]), np.array([s[-1] for s in feed]))
    # One lever measured beside today's rule: review on the second-highest frame, so one odd
    # frame no longer sends a clip to review (it would also let one explicit frame through).
    second = np.array([s[-2] if len(s) > 1 else 0.0 for s in feed])
    return {"profiles": profiles(), "sets": {name: _row(topk, peak) for name, (topk, peak) in scored.items()},
            "cartoon_second_frame_reviews": int((second >= profiles()["default"]["review"]).sum())}


def _row(topk: np.ndarray, peak: np.ndarray) -> dict:
    row = {"n": len(peak), "p50": round(float(np.median(peak)), 4), "p99": round(float(np.quantile(peak, 0.99)), 4),
           "max": round(float(peak.max()), 4)}
    for name, bar in profiles().items():
        blocked = topk >= bar["block"]
        row[name] = {"blocked": int(blocked.sum()), "reviewed": int(((peak >= bar["review"]) & ~blocked).sum())}
    return row


def speed(scorer: FrameScorer, rounds: int = MIN_ROUNDS) -> dict[int, Comparison]:
    """Frames/s at each batch size above 1 against batch 1, interleaved."""
    frames = [image(IMAGES[i % len(IMAGES)]) for i in range(max(BATCHES))]
    return {batch: interleaved(_rate(scorer, frames[:batch]), _rate(scorer, frames[:1]),
                               (f"batch {batch}", "batch 1"), higher_is_better=("frames_per_s",),
                               rounds=rounds, say=say)["frames_per_s"]
            for batch in BATCHES if batch > 1}


def _rate(scorer: FrameScorer, batch: list[np.ndarray], seconds: float = 1.0) -> Measure:
    """One round: whole batches scored for about `seconds`; frames per second."""
    def measure() -> dict[str, float]:
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            scorer.scores(batch)
            done += len(batch)
        return {"frames_per_s": done / (time.perf_counter() - started)}

    return measure


def run_explicit_bench(settings: Settings, rounds: int = MIN_ROUNDS) -> dict:
    scorer = OpenNsfwOnnx()
    say(f"[1/3] calibration of {scorer.name} {scorer.version} on benign sets")
    calib = calibration(scorer, settings.media)
    say("[2/3] speed at batch sizes " + ", ".join(map(str, BATCHES)) + f" (preprocessing included), {rounds} rounds")
    fast = speed(scorer, rounds)
    results = {"model": f"{scorer.name} {scorer.version}", "calibration": calib,
               "speed": {batch: c.to_dict() for batch, c in fast.items()}}
    print_explicit(results, fast)
    say(f"[3/3] open_nsfw quantised to int8 (dynamic, static QDQ) against float32, {rounds} rounds")
    review_bar = load_policy().signals["explicit"]["review"]
    int8, int8_speed = int8_against_float(review_bar, rounds)
    print_int8(int8, int8_speed, review_bar)
    return {**results, "int8": int8}


def print_explicit(r: dict, speeds: dict[int, Comparison]) -> None:
    c = r["calibration"]
    click.echo(f"explicit calibration on benign sets, {r['model']}")
    for name, bar in c["profiles"].items():
        click.echo(f"  {name}: block at top-{TOP_K} mean >= {bar['block']}, review at max >= {bar['review']}")
    names = list(c["profiles"])
    click.echo(f"{'set':<10} {'n':>5} {'p50':>7} {'p99':>7} {'max':>7}  "
               + "  ".join(f"{n + ' blocked/reviewed':>24}" for n in names))
    for name, row in c["sets"].items():
        counts = "  ".join(f"{row[n]['blocked']:>14}/{row[n]['reviewed']:<9}" for n in names)
        click.echo(f"{name:<10} {row['n']:>5} {row['p50']:>7.4f} {row['p99']:>7.4f} {row['max']:>7.4f}  {counts}")
    cartoons = c["sets"]["cartoon_clips"]
    click.echo(f"cartoon_clips reviewed on the second-highest frame instead of the highest: "
               f"{c['cartoon_second_frame_reviews']}/{cartoons['n']} (today {cartoons['default']['reviewed']})")
    for comparison in speeds.values():
        click.echo(f"speed, {comparison.line(1)}")
