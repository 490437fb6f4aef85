"""Fuzzing the three doors hostile bytes come through: the event parser, the media loader and
the upload reader. Each may refuse its input only with its own error, which says what was wrong;
anything else escaping would be a crash of the gate or a 500.

`make test` runs a fixed, derandomised set of examples (the "ci" profile, tests/conftest.py);
`make fuzz` runs many more, randomised.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from clipguard.core.config import MediaLimits
from clipguard.core.contracts import ClipGenerated, ContractError, parse_clip_generated
from fixtures.clips import write_frames
from media.sampling import MediaError, sample_frames
from media.uploads import BadUpload, Media, Upload, read_media

LIMITS = MediaLimits(decode_deadline_s=5.0)
GOOD_EVENT = {"schema": "clip.generated/1", "clip_id": "c1", "creator_id": "alice",
              "media_uri": "file:///media/c1.mp4", "created_at": "2026-11-21T10:00:00Z",
              "prompt": "a cat", "cameo_ids": ["bob"], "attrs": {"audience": "teen"}}
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4),
                           max_leaves=12)


@given(st.binary(max_size=2048))
def test_the_event_parser_refuses_any_bytes_with_a_contract_error(raw: bytes):
    _parse(raw)


@given(st.dictionaries(st.sampled_from(sorted(GOOD_EVENT)), json_values, max_size=len(GOOD_EVENT)))
def test_the_event_parser_refuses_any_field_values_with_a_contract_error(changes: dict):
    _parse(json.dumps({**GOOD_EVENT, **changes}).encode())


def _parse(raw: bytes) -> None:
    try:
        assert isinstance(parse_clip_generated(raw), ClipGenerated)
    except ContractError as exc:
        assert exc.code and str(exc)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small real media to mutate: an H.264 MP4, a PNG, a JPEG and an SVG."""
    folder = tmp_path_factory.mktemp("seeds")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(12)]
    mp4 = write_frames(folder / "seed.mp4", frames, fps=12, size=(64, 64)).read_bytes()
    images = {}
    for fmt in ("PNG", "JPEG"):
        out = io.BytesIO()
        Image.fromarray(frames[0]).save(out, format=fmt)
        images[fmt.lower()] = out.getvalue()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'
    return {"mp4": mp4, **images, "svg": svg}


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes]) -> bytes:
    """A seed, truncated, with bytes flipped, or with junk spliced in."""
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "truncate", "splice", "zero"]))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate":
            del data[at:]
        elif how == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + 16] = bytes(len(data[at:at + 16]))
    return bytes(data)


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_the_media_loader_refuses_any_file_with_a_media_error(seeds: dict[str, bytes], tmp_path: Path,
                                                              data: st.DataObject):
    path = tmp_path / "clip"
    path.write_bytes(data.draw(mutated(seeds)))
    try:
        clip = sample_frames(path, LIMITS)
    except MediaError as exc:
        assert exc.code.startswith("media_") and str(exc)
        return
    assert clip.frames and all(f.rgb.ndim == 3 for f in clip.frames)


@FUZZ
@given(data=st.data())
def test_the_upload_reader_refuses_any_file_with_a_bad_upload(seeds: dict[str, bytes], data: st.DataObject):
    name = data.draw(st.sampled_from(["a.png", "a.jpg", "a.mp4", "a.svg", "noext", "x." + "y" * 300, ""]))
    try:
        media = read_media(Upload(name, data.draw(mutated(seeds))), LIMITS)
    except BadUpload as exc:
        assert str(exc)
        return
    assert isinstance(media, Media) and media.frames
