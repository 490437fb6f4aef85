"""Where the face detector needs to look in each sampled frame, and what it need not look at again.

Detection is most of the face signal's cost (dlib's HOG detector, upsampled once: ~36 ms on a
512-px frame, ten or more frames a clip), and a sampled frame often shows much of what the one
before it showed: a talking head on a still background, a sticker or subtitle changing over a
still shot. So each frame is compared, cell by cell, with what the detector last saw at each
place. The detector runs only over the cells that changed, grown by a margin and to take in whole
any face seen there before; faces seen before elsewhere are carried into the frame as they were
(the tracker links them like any detection). A frame that changed over most of its area (a cut,
a pan, a zoom) is searched whole, and those frames are searched in parallel.

Comparing with what was last *searched*, not just with the frame before, means that a slow fade
or a face creeping in a few pixels a frame still adds up to a change that gets looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

import cv2
import numpy as np
from scipy import ndimage

Box = tuple[int, int, int, int]    # x0, y0, x1, y1 in frame pixels

# Side, in pixels of the sampled frame, of a cell of the change grid.
CELL = 8
# Mean absolute grey difference over a cell (0-255) that counts as a change. Re-encoding a still
# shot moves cells by ~1-3 (H.264 at crf 38 included); a face entering moves them by tens.
CHANGED = 8.0
# Pixels added around changed cells, so that a small face whose only change was a blink or a
# mouth is searched whole: the detector needs the whole face and a little border.
MARGIN = 40
# Past this share of the frame's area the whole frame is searched: cheaper than many crops.
WHOLE = 0.5


class Located(Protocol):
    box: Box


Found = TypeVar("Found", bound=Located)
Detect = Callable[[np.ndarray, Box | None], list[Found]]


def detect_where_changed(detect: Detect, frames: Sequence[np.ndarray],
                         mapper: Callable[..., Iterable[list[Found]]] = map) -> list[list[Found]]:
    """Each frame's detections, `detect(frame, None)` on frames to search whole (in parallel
    through `mapper`), `detect(frame, box)` on the changed regions of the others, with the
    detections outside those regions carried from the frame before."""
    if not frames:
        return []
    greys = [grey(frame) for frame in frames]
    # Against the frame before, a frame with this much change is searched whole whatever came
    # earlier: those are known up front, and searched in parallel.
    whole = [i for i in range(len(frames)) if i == 0 or changed_regions(greys[i - 1], greys[i], []) is None]
    searched = dict(zip(whole, mapper(lambda i: detect(frames[i], None), whole), strict=True))
    per_frame: list[list[Found]] = []
    last_seen = greys[0]
    for i, frame in enumerate(frames):
        if i in searched:
            found, last_seen = searched[i], greys[i]
        else:
            found, last_seen = _search_changes(detect, frame, greys[i], last_seen, per_frame[-1])
        per_frame.append(found)
    return per_frame


def every_frame_whole(detect: Detect, frames: Sequence[np.ndarray],
                      mapper: Callable[..., Iterable[list[Found]]] = map) -> list[list[Found]]:
    """The baseline `detect_where_changed` is measured against: every frame searched whole."""
    return list(mapper(lambda frame: detect(frame, None), frames))


def _search_changes(detect: Detect, frame: np.ndarray, now: np.ndarray, last_seen: np.ndarray,
                    before: list[Found]) -> tuple[list[Found], np.ndarray]:
    regions = changed_regions(last_seen, now, [d.box for d in before])
    if regions is None:
        return detect(frame, None), now
    carried = [d for d in before if not any(overlaps(d.box, r) for r in regions)]
    found = [d for region in regions for d in detect(frame, region)]
    seen = last_seen.copy()
    for x0, y0, x1, y1 in regions:
        seen[y0:y1, x0:x1] = now[y0:y1, x0:x1]
    return carried + found, seen


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def cell_changes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per cell of the grid, whether the grey level moved by more than CHANGED on average (a
    partial cell at the right or bottom edge averages over the pixels it holds)."""
    height, width = after.shape
    cells = (-(-width // CELL), -(-height // CELL))
    return cv2.resize(cv2.absdiff(before, after), cells, interpolation=cv2.INTER_AREA) > CHANGED


def changed_regions(before: np.ndarray, after: np.ndarray, faces: Sequence[Box]) -> list[Box] | None:
    """The boxes to search: each connected patch of changed cells grown by MARGIN, grown again
    over any face box it touches, overlapping boxes merged. [] when nothing changed; None when
    the boxes would cover more than WHOLE of the frame, or the frames differ in size."""
    if before.shape != after.shape:
        return None
    changed = cell_changes(before, after)
    height, width = after.shape
    if changed.mean() > WHOLE:
        return None
    labels, _ = ndimage.label(changed, structure=np.ones((3, 3)))
    boxes = [(max(0, s[1].start * CELL - MARGIN), max(0, s[0].start * CELL - MARGIN),
              min(width, s[1].stop * CELL + MARGIN), min(height, s[0].stop * CELL + MARGIN))
             for s in ndimage.find_objects(labels)]
    boxes = merged([*boxes, *faces], keep=len(boxes))
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > WHOLE * width * height:
        return None
    return boxes


def merged(boxes: Sequence[Box], keep: int) -> list[Box]:
    """The first `keep` boxes, each unioned with every later box that overlaps it or what it has
    already taken in, and the results unioned while any two overlap. Boxes past `keep` that touch
    nothing are dropped: an unchanged face needs no search."""
    regions = list(boxes[:keep])
    others = list(boxes[keep:])
    grown = True
    while grown:
        grown = False
        for i, region in enumerate(regions):
            touching = [b for b in others if overlaps(region, b)] + [r for r in regions[i + 1:] if overlaps(region, r)]
            if touching:
                others = [b for b in others if b not in touching]
                regions = [r for r in regions if r not in touching and r != region] + [union(region, *touching)]
                grown = True
                break
    return regions


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def union(*boxes: Box) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
