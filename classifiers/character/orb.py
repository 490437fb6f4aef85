"""ORB keypoints with a RANSAC geometric check: finds claimed art that is cropped, scaled,
rotated, mirrored or pasted onto a new background, where perceptual hashes stop matching.

A reference is stored as four feature sets: at two scales (ORB's pyramid spans about 3.6x, so a
half-size copy reaches art that fills a small part of a frame) and mirrored (ORB descriptors are
not mirror-invariant). A frame matches when enough descriptor matches agree on one homography.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

MAX_SIDE = 512
# A frame gets more keypoints than a reference: art pasted into a busy scene must still get its
# share. 3000 found a rocket on a brick wall that 1500 missed (42 inliers against 9) while
# unrelated scenes stayed at 11 or fewer; 5000 let an unrelated scene reach 49.
FRAME_FEATURES = 3000
REFERENCE_FEATURES = 1500
FAST_THRESHOLD = 10     # lower than OpenCV's 20, so that flat cartoon art still yields corners
RATIO = 0.75            # Lowe's ratio test
MIN_GOOD = 8            # fewer tentative matches cannot fit a homography worth checking
HOMOGRAPHY_PAIRS = 4    # the pairs one RANSAC draw fits a homography to
# findHomography's own defaults: its RANSAC stops once it is this sure no better model is left to
# draw, and never runs past MAX_ITERATIONS.
CONFIDENCE = 0.995
MAX_ITERATIONS = 2000
REFERENCE_SCALES = (1.0, 0.5)
# The agreeing matches must cover this share of the reference's keypoint area. Measured on the
# characters bench: true copies cover 48-95% (a 20% crop included); the false matches that
# passed the inlier bar (printed text against a clock face, a checkerboard against a micrograph)
# sat in 0.3-1.5%, a few repeated corners.
MIN_SPREAD = 0.1
# OpenCV's detectors and matchers keep state between calls; the gate's DoFns run on threads.
_local = threading.local()


def _detector(features: int) -> cv2.ORB:
    detectors = _local.__dict__.setdefault("detectors", {})
    if features not in detectors:
        detectors[features] = cv2.ORB_create(nfeatures=features, fastThreshold=FAST_THRESHOLD)
    return detectors[features]


def _matcher() -> cv2.BFMatcher:
    if not hasattr(_local, "matcher"):
        _local.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    return _local.matcher


@dataclass(frozen=True)
class OrbFeatures:
    points: np.ndarray         # (n, 2) float32, pixel positions in the resized image
    descriptors: np.ndarray    # (n, 32) uint8

    def __len__(self) -> int:
        return len(self.descriptors)


def orb_features(rgb: np.ndarray, max_side: int = MAX_SIDE, features: int = FRAME_FEATURES) -> OrbFeatures:
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    scale = max_side / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    keypoints, descriptors = _detector(features).detectAndCompute(gray, None)
    if descriptors is None:
        return OrbFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    return OrbFeatures(np.float32([k.pt for k in keypoints]), descriptors)


def reference_variants(rgb: np.ndarray) -> list[OrbFeatures]:
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    return [orb_features(image, int(MAX_SIDE * scale), REFERENCE_FEATURES)
            for image in (rgb, mirrored) for scale in REFERENCE_SCALES]


def inliers(frame: OrbFeatures, reference: OrbFeatures) -> int:
    """How many of the frame's matches to `reference` one plausible homography explains."""
    if len(frame) < MIN_GOOD or len(reference) < MIN_GOOD:
        return 0
    pairs = _matcher().knnMatch(frame.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    return agreeing(frame.points[[m.queryIdx for m in good]], reference.points[[m.trainIdx for m in good]],
                    reference.points)


def ransac_iterations(matches: int, least: int) -> int:
    """The RANSAC draws that find, with CONFIDENCE, a model that `least` of `matches` pairs agree
    on: OpenCV's stopping rule, applied before the first draw to the weakest model that counts.
    Most candidates are unrelated art whose best model falls short of `least`; on them RANSAC
    never grows sure and would run all MAX_ITERATIONS. 0 when fewer than `least` pairs match."""
    if matches < max(least, HOMOGRAPHY_PAIRS):
        return 0
    all_agree = math.prod((least - i) / (matches - i) for i in range(HOMOGRAPHY_PAIRS))    # drawn without replacement
    if all_agree >= 1:
        return 1
    return min(MAX_ITERATIONS, math.ceil(math.log(1 - CONFIDENCE) / math.log(1 - all_agree)))


def all_iterations(matches: int, least: int) -> int:
    """findHomography's own budget whatever the candidate: the baseline `ransac_iterations` is measured against."""
    return MAX_ITERATIONS if matches >= max(least, HOMOGRAPHY_PAIRS) else 0


# How many RANSAC draws a candidate of `matches` pairs gets, when `least` must agree.
Draws = Callable[[int, int], int]


def agreeing(src: np.ndarray, dst: np.ndarray, reference_points: np.ndarray, least: int = MIN_GOOD,
             draws: Draws = ransac_iterations) -> int:
    """How many matched pairs (frame point `src` to reference point `dst`) one plausible
    homography explains, provided they spread over enough of the reference; 0 where fewer than
    `least` would, since the caller discards those."""
    iterations = draws(len(src), least)
    if not iterations:
        return 0
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0, maxIters=iterations, confidence=CONFIDENCE)
    if homography is None or not _plausible(homography):
        return 0
    if _spread(dst[mask.ravel() == 1]) < MIN_SPREAD * _spread(reference_points):
        return 0
    return int(mask.sum())


def _plausible(homography: np.ndarray) -> bool:
    # A copy may be scaled, rotated or slightly skewed; a near-singular or wildly scaled map is
    # RANSAC fitting noise.
    det = float(np.linalg.det(homography[:2, :2]))
    return 1 / 64 < abs(det) < 64


def _spread(points: np.ndarray) -> float:
    """Area of the points' bounding box."""
    if len(points) < 2:
        return 0.0
    width, height = points.max(axis=0) - points.min(axis=0)
    return float(width * height)


def best_inliers(frame: OrbFeatures, variants: Sequence[OrbFeatures]) -> int:
    return max((inliers(frame, v) for v in variants), default=0)


def serialize(variants: Sequence[OrbFeatures]) -> bytes:
    out = io.BytesIO()
    arrays = {f"{kind}{i}": getattr(v, attr) for i, v in enumerate(variants)
              for kind, attr in (("p", "points"), ("d", "descriptors"))}
    np.savez_compressed(out, **arrays)
    return out.getvalue()


def deserialize(blob: bytes) -> list[OrbFeatures]:
    with np.load(io.BytesIO(blob)) as arrays:
        count = len(arrays.files) // 2
        return [OrbFeatures(arrays[f"p{i}"], arrays[f"d{i}"]) for i in range(count)]
