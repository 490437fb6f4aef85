"""The character signal on feed-like clips (fixtures/feed.py), as issue 16's outside evaluation
met it: benign cartoon frames from the shared calibration set filed as claims, composed at 15-100%
of the frame, on screen for all or part of the clip, with the feed's edits; other cartoon frames
the same way, unclaimed. Each clip is decoded and sampled as the gate does and judged by the real
handler and the policy's rule; recall is a block naming the right claim, a false match any block
or review of an unclaimed clip.

Every sixth clip's frames then time the ORB index's RANSAC sized to the search floor
(`orb.ransac_iterations`) against findHomography's full budget (`orb.all_iterations`), the two
interleaved, and compare what each finds clip by clip."""

from __future__ import annotations

import io
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
from PIL import Image

from bench.compare import Comparison, interleaved, timed_ms
from bench.results import say
from classifiers.character import orb
from classifiers.character.handler import Catalog, CharacterHandler
from classifiers.character.reference_index import OrbIndex, Reference
from classifiers.character.rule import character_rule
from clipguard.core.config import MediaLimits
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from fixtures.feed import FeedSpec, calibration_cartoons, feed_specs, write_feed_clip
from media.sampling import sample_frames
from media.uploads import Upload
from usecases.policy_files import load_policy
from usecases.references import build_references

CLAIMED = 12            # cartoon frames filed as claims, every 17th of the set
CLAIMED_CLIPS, UNCLAIMED_CLIPS = 96, 50
TIMED_EVERY = 6         # the RANSAC comparison's clips: 16 claimed and 9 unclaimed, about 3 minutes
NOW = "2026-12-03T00:00:00Z"


def feed_recall(limits: MediaLimits, rounds: int) -> dict:
    arts = calibration_cartoons()
    claimed = list(range(0, len(arts), 17))[:CLAIMED]
    unclaimed = [i for i in range(len(arts)) if i not in claimed]
    handler = CharacterHandler(lambda: Catalog([_reference(i, arts[i], limits) for i in claimed]))
    model = handler.load_model()
    policy = load_policy()
    bars = policy.signals["character"]
    specs = feed_specs(CLAIMED_CLIPS + UNCLAIMED_CLIPS, seed=5)
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false, costs, features = 0, [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        for n, spec in enumerate(specs):
            art = claimed[n % CLAIMED] if n < CLAIMED_CLIPS else unclaimed[(n - CLAIMED_CLIPS) * 3 % len(unclaimed)]
            clip = sample_frames(write_feed_clip(path, arts[art], spec), limits)
            started = time.perf_counter()
            signal = handler.score(model, [ClipInput(ClipGenerated("feed", "alice", path.as_uri(), NOW), clip)])[0]
            costs.append(time.perf_counter() - started)
            if n % TIMED_EVERY == 0:
                features.append([orb.orb_features(f.rgb) for f in clip.frames])
            verdicts = {(v, r.evidence.get("claim_id")) for v, r in character_rule(signal, bars, policy.label, {})}
            if n < CLAIMED_CLIPS:
                tally = found[_group(spec)]
                tally[0] += ("block", f"claim-{art}") in verdicts
                tally[1] += 1
            else:
                false += bool(verdicts)
            if (n + 1) % 25 == 0:
                say(f"  {n + 1}/{len(specs)} feed clips")
    result = {"recall": {group: {"found": f, "clips": c} for group, (f, c) in sorted(found.items())},
              "unclaimed": {"matched": false, "clips": UNCLAIMED_CLIPS},
              "ms_per_clip": round(float(np.median(costs)) * 1000, 1)}
    _print(result)
    ransac, compared = ransac_cost(model.current().orb, features, rounds)
    click.echo(f"ORB index, RANSAC sized to the search floor against findHomography's full budget: the same "
               f"matches in {ransac['same']} of {ransac['clips']} clips\n  {compared.line(1)}")
    return {**result, "ransac": ransac}


def ransac_cost(index: OrbIndex, clips: list[list[orb.OrbFeatures]], rounds: int) -> tuple[dict, Comparison]:
    """The ORB query over every clip's frames with each RANSAC budget: what each finds, and its cost, interleaved."""
    def found(draws: orb.Draws) -> list[list[tuple]]:
        return [[(m.reference.claim_id, m.measure, m.frame) for m in index.query(frames, draws)] for frames in clips]

    same = sum(a == b for a, b in zip(found(orb.ransac_iterations), found(orb.all_iterations), strict=True))

    def all_clips(draws: orb.Draws) -> Callable[[], None]:
        return lambda: [index.query(frames, draws) for frames in clips]

    compared = interleaved(timed_ms("ms_per_clip", all_clips(orb.ransac_iterations), len(clips)),
                           timed_ms("ms_per_clip", all_clips(orb.all_iterations), len(clips)),
                           ("sized", "full budget"), rounds=rounds, say=say)["ms_per_clip"]
    return {"clips": len(clips), "same": same, "compared": compared.to_dict()}, compared


def _reference(index: int, art: np.ndarray, limits: MediaLimits) -> Reference:
    png = io.BytesIO()
    Image.fromarray(art).save(png, format="PNG")
    new = build_references([Upload(f"cartoon-{index}.png", png.getvalue())], limits)[0]
    return Reference(f"ref-{index}", f"claim-{index}", f"cartoon {index}", "block", new.pdq, new.phash, new.orb)


def _group(spec: FeedSpec) -> str:
    shown = spec.on_screen[1] - spec.on_screen[0]
    return f"{int(spec.fraction * 100)}% of the frame, {'part' if shown < 0.5 else 'most'} of the clip"


def _print(result: dict) -> None:
    click.echo(f"\nfeed-like cartoon clips: claimed art blocked under its own claim ({CLAIMED} claims)")
    for group, row in result["recall"].items():
        click.echo(f"  {group:<36} {row['found']:>3}/{row['clips']:<3} {row['found'] / row['clips']:>5.0%}")
    u = result["unclaimed"]
    click.echo(f"  unclaimed clips blocked or reviewed: {u['matched']}/{u['clips']} ({u['matched'] / u['clips']:.0%}); "
               f"character scoring {result['ms_per_clip']} ms per clip, median (decode excluded)")
