import os
from dataclasses import replace
from pathlib import Path

import pytest

from clipguard.core.config import MediaLimits
from media.sampling import MediaError, check_declared_size, resolve_media, sample_frames

LIMITS = MediaLimits()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "media" / "sub").mkdir(parents=True)
    (tmp_path / "media" / "sub" / "a.mp4").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("not media")
    return tmp_path / "media"


def test_a_file_inside_a_root_resolves(root: Path):
    assert resolve_media((root / "sub" / "a.mp4").as_uri(), (root,)) == (root / "sub" / "a.mp4").resolve()


@pytest.mark.parametrize("name", [b"My clip (1) #2 100%.mp4", "été.mov".encode(), b"not-utf8-\xff.mp4"])
def test_a_file_with_any_name_resolves_from_its_uri(root: Path, name: bytes):
    path = root / os.fsdecode(name)
    path.write_bytes(b"x")
    assert resolve_media(path.as_uri(), (root,)) == path.resolve()


@pytest.mark.parametrize(("uri", "code"), [
    ("http://example.com/a.mp4", "media_scheme"),
    ("s3://bucket/a.mp4", "media_scheme"),
    ("/plain/path.mp4", "media_scheme"),
    ("file://otherhost/a.mp4", "media_scheme"),
    ("file:///etc/passwd", "media_outside_roots"),
])
def test_uris_that_are_not_local_media_are_refused(root: Path, uri, code):
    with pytest.raises(MediaError) as caught:
        resolve_media(uri, (root,))
    assert caught.value.code == code


def test_traversal_out_of_the_root_is_refused(root: Path):
    for uri in (f"file://{root}/sub/../../secret.txt", f"file://{root}/sub/%2e%2e/%2e%2e/secret.txt"):
        with pytest.raises(MediaError, match="outside the media roots"):
            resolve_media(uri, (root,))


def test_a_symlink_that_leaves_the_root_is_refused_but_one_inside_is_fine(root: Path):
    os.symlink(root.parent / "secret.txt", root / "escape.mp4")
    os.symlink(root / "sub" / "a.mp4", root / "alias.mp4")
    with pytest.raises(MediaError, match="outside the media roots"):
        resolve_media((root / "escape.mp4").as_uri(), (root,))
    assert resolve_media((root / "alias.mp4").as_uri(), (root,)) == (root / "sub" / "a.mp4").resolve()


def test_a_root_prefix_is_not_a_root(root: Path):
    sibling = root.parent / "media-evil"
    sibling.mkdir()
    (sibling / "a.mp4").write_bytes(b"x")
    with pytest.raises(MediaError, match="outside"):
        resolve_media((sibling / "a.mp4").as_uri(), (root,))


def test_uniform_frames_are_sampled_at_the_configured_rate(clips_dir: Path):
    clip = sample_frames(clips_dir / "coffee-pan.mp4", LIMITS)
    assert [f.t for f in clip.frames] == [0.0, 1.0, 2.0, 3.0]
    assert (clip.width, clip.height) == (640, 360)
    assert 0 < clip.decoded_frames < 96  # B-frames are skipped by default
    assert max(clip.frames[0].rgb.shape[:2]) <= LIMITS.frame_max_side
    twice = sample_frames(clips_dir / "coffee-pan.mp4", replace(LIMITS, sample_fps=2.0))
    assert len(twice.frames) == 8


def test_scene_cuts_add_the_first_frame_of_each_new_shot(clips_dir: Path):
    # cat-cutin: 3 s coffee, 1.5 s cat, 2 s rocket at 24 fps, so cuts at frames 72 and 108.
    clip = sample_frames(clips_dir / "cat-cutin.mp4", LIMITS)
    assert [f.index for f in clip.frames if f.cut] == [72, 108]
    sparse = sample_frames(clips_dir / "cat-cutin.mp4", replace(LIMITS, sample_fps=0.1))
    assert [f.index for f in sparse.frames] == [0, 72, 108]


def test_decoding_every_frame_samples_the_same_cuts(clips_dir: Path):
    every = sample_frames(clips_dir / "cat-cutin.mp4", replace(LIMITS, reference_frames_only=False))
    assert every.decoded_frames == 156
    assert [f.index for f in every.frames if f.cut] == [72, 108]


def test_the_frame_cap_keeps_the_cuts(clips_dir: Path):
    clip = sample_frames(clips_dir / "cat-cutin.mp4", replace(LIMITS, sample_fps=12.0, max_frames=5))
    assert len(clip.frames) == 5
    assert {72, 108} <= {f.index for f in clip.frames}


@pytest.mark.parametrize(("name", "code"), [
    ("corrupt.mp4", "media_corrupt"),
    ("zero-frames.mp4", "media_no_video"),
    ("empty.mp4", "media_empty"),
    ("missing.mp4", "media_missing"),
])
def test_broken_media_raises_a_coded_error(clips_dir: Path, name, code):
    with pytest.raises(MediaError) as caught:
        sample_frames(clips_dir / name, LIMITS)
    assert caught.value.code == code


@pytest.mark.parametrize("limits", [
    replace(LIMITS, max_bytes=1000),
    replace(LIMITS, max_pixels=640 * 359),
    replace(LIMITS, max_duration_s=2.0),
])
def test_oversize_media_is_refused(clips_dir: Path, limits: MediaLimits):
    with pytest.raises(MediaError) as caught:
        sample_frames(clips_dir / "coffee-pan.mp4", limits)
    assert caught.value.code == "media_too_large"


def test_a_declared_size_over_the_limit_is_refused_before_opening():
    check_declared_size({"size_bytes": 10}, LIMITS)
    check_declared_size({}, LIMITS)
    with pytest.raises(MediaError, match="exceeds"):
        check_declared_size({"size_bytes": 10**15}, LIMITS)
    with pytest.raises(MediaError) as caught:
        check_declared_size({"size_bytes": "huge"}, LIMITS)
    assert caught.value.code == "media_bad_size"


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'


def test_a_file_ffmpeg_opens_but_cannot_decode_is_corrupt_not_a_crash(tmp_path: Path):
    """An SVG opens in PyAV with no codec context; it once escaped as an AttributeError and
    stopped the gate (the hardening issue's first finding)."""
    for name in ("c1.svg", "c1.mp4"):
        (tmp_path / name).write_bytes(SVG)
        with pytest.raises(MediaError) as raised:
            sample_frames(tmp_path / name, MediaLimits())
        assert raised.value.code in ("media_corrupt", "media_no_video")


def test_the_gate_reviews_an_svg_and_goes_on(tmp_path: Path, clips_dir: Path):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that

    from clipguard.core.contracts import ClipGenerated
    from pipelines.moderate import ClipWork, LoadMedia

    (tmp_path / "c1.svg").write_bytes(SVG)
    events = [ClipGenerated(name, "c1", (folder / f"{name}.{ext}").as_uri(), "2026-11-21T10:00:00Z")
              for name, folder, ext in (("c1", tmp_path, "svg"), ("coffee-pan", clips_dir, "mp4"))]

    def check(works) -> None:  # no hint: Beam 2.62 checks it against its own, and refuses list
        by_id = {w.event.clip_id: w for w in works}
        assert by_id["c1"].media_error[0] in ("media_corrupt", "media_no_video") and by_id["c1"].clip is None
        assert by_id["coffee-pan"].media_error is None and by_id["coffee-pan"].clip.frames

    with beam.Pipeline() as pipeline:
        loaded = (pipeline | beam.Create([ClipWork(e, 0.0, {}) for e in events])
                  | beam.ParDo(LoadMedia((tmp_path, clips_dir), MediaLimits())))
        assert_that(loaded, check)


def test_hostile_uploads_are_refused_with_the_reason():
    import io

    from PIL import Image

    from media.uploads import BadUpload, Upload, read_media

    bomb = io.BytesIO()
    Image.new("L", (20_000, 20_000)).save(bomb, format="PNG")    # 400 MP: past PIL's bomb limit
    cases = {"bomb.bin": bomb.getvalue(), "c1.svg": SVG, "x." + "a" * 300: b"\x00" * 64}
    for name, data in cases.items():
        with pytest.raises(BadUpload) as refused:
            read_media(Upload(name, data), MediaLimits())
        assert name[:20] in str(refused.value)


def test_a_decode_past_its_deadline_is_cut_off(clips_dir: Path):
    with pytest.raises(MediaError) as caught:
        sample_frames(clips_dir / "space-montage.mp4", replace(MediaLimits(), decode_deadline_s=0.0))
    assert caught.value.code == "media_too_slow" and "to decode" in str(caught.value)
    assert sample_frames(clips_dir / "space-montage.mp4", LIMITS).frames      # the default lets it through
