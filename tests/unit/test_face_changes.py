"""classifiers/faces/changes.py: which parts of which frames the face detector is asked to search,
with a recording detector standing in for dlib (the real detector runs in
tests/integration/test_faces.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifiers.faces.changes import (
    CELL,
    CHANGED,
    MARGIN,
    Box,
    changed_regions,
    detect_where_changed,
    grey,
    merged,
)


@dataclass(frozen=True)
class Spot:
    box: Box


class Recording:
    """Finds a Spot at each bright square it is shown, and notes every search it was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, Box | None]] = []

    def __call__(self, frame: np.ndarray, within: Box | None) -> list[Spot]:
        self.asked.append((int(frame[0, 0, 0]), within))
        x0, y0, x1, y1 = within or (0, 0, frame.shape[1], frame.shape[0])
        ys, xs = np.nonzero(frame[y0:y1, x0:x1, 1] == 255)
        return [Spot((int(xs.min()) + x0, int(ys.min()) + y0, int(xs.max()) + x0 + 1, int(ys.max()) + y0 + 1))] \
            if len(xs) else []


def frames(count: int, squares: dict[int, Box], size: tuple[int, int] = (288, 512)) -> list[np.ndarray]:
    """`count` still frames of a noisy background (pixel [0,0] numbers the frame); frame i shows
    a bright square at squares[i] when it has one."""
    rng = np.random.default_rng(0)
    background = rng.integers(40, 200, size=(*size, 3), dtype=np.uint8)
    background[..., 1] = np.minimum(background[..., 1], 254)
    out = []
    for i in range(count):
        frame = background.copy()
        frame[0, 0, 0] = i
        if i in squares:
            x0, y0, x1, y1 = squares[i]
            frame[y0:y1, x0:x1] = 255
        out.append(frame)
    return out


def test_a_still_shot_is_searched_once_and_its_faces_carried_through_every_frame():
    square = (100, 100, 160, 160)
    detect = Recording()
    found = detect_where_changed(detect, frames(6, dict.fromkeys(range(6), square)))
    assert detect.asked == [(0, None)]
    assert [[s.box for s in f] for f in found] == [[square]] * 6


def test_a_face_entering_a_still_shot_is_searched_around_where_it_appeared_only():
    square = (300, 60, 360, 120)
    detect = Recording()
    found = detect_where_changed(detect, frames(4, {2: square, 3: square}))
    assert detect.asked[0] == (0, None)
    assert [number for number, _ in detect.asked] == [0, 2]
    region = detect.asked[1][1]
    assert region[0] <= square[0] - MARGIN + CELL and region[2] >= square[2] + MARGIN - CELL
    assert (region[2] - region[0]) * (region[3] - region[1]) < 0.2 * 288 * 512
    assert [[s.box for s in f] for f in found] == [[], [], [square], [square]]


def test_a_face_that_moves_is_searched_whole_where_it_was_and_where_it_went():
    before, after = (100, 100, 160, 160), (112, 104, 172, 164)
    detect = Recording()
    found = detect_where_changed(detect, frames(2, {0: before, 1: after}))
    x0, y0, x1, y1 = detect.asked[1][1]
    assert x0 <= before[0] and y0 <= before[1] and x1 >= after[2] and y1 >= after[3]
    assert [s.box for s in found[1]] == [after]


def test_a_face_that_leaves_is_not_carried():
    square = (100, 100, 160, 160)
    found = detect_where_changed(Recording(), frames(3, {0: square}))
    assert [len(f) for f in found] == [1, 0, 0]


def test_a_cut_is_searched_whole_and_in_parallel_with_the_first_frame():
    rng = np.random.default_rng(1)
    shots = [rng.integers(0, 255, size=(288, 512, 3), dtype=np.uint8) for _ in range(3)]
    for number, shot in enumerate(shots):
        shot[0, 0, 0] = number
    detect, mapped = Recording(), []

    def mapper(fn, items):
        mapped.extend(items)
        return map(fn, items)

    detect_where_changed(detect, shots, mapper)
    assert mapped == [0, 1, 2]
    assert detect.asked == [(0, None), (1, None), (2, None)]


def test_a_slow_fade_adds_up_to_a_change_against_what_was_last_searched():
    still = frames(1, {})[0]
    step = CHANGED * 0.6          # each frame under the bar on its own
    fading = []
    for i in range(4):
        frame = still.astype(np.float32)
        frame[100:160, 100:160] += step * i
        fading.append(np.clip(frame, 0, 255).astype(np.uint8))
    detect = Recording()
    detect_where_changed(detect, fading)
    assert len(detect.asked) >= 2, "the fade was never looked at"


def test_regions_merge_when_they_overlap_and_untouched_faces_are_dropped():
    assert merged([(0, 0, 10, 10), (5, 5, 20, 20), (100, 100, 110, 110)], keep=2) == [(0, 0, 20, 20)]
    assert merged([(0, 0, 10, 10), (8, 0, 30, 10), (200, 200, 210, 210)], keep=1) == [(0, 0, 30, 10)]


def test_nothing_changed_means_nothing_to_search_and_a_changed_frame_means_all_of_it():
    still = grey(frames(1, {})[0])
    assert changed_regions(still, still, [(10, 10, 50, 50)]) == []
    assert changed_regions(still, 255 - still, []) is None
    assert changed_regions(still, still[:100], []) is None
    assert detect_where_changed(Recording(), []) == []
