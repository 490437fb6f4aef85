"""What `clipguard scan` makes of the files it is given: an id for any name, and one refusal per
bad file (usecases/scan_files.py, clipguard/core/clip_ids.py, media/local_files.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from clipguard.core.clip_ids import distinct_ids, id_from_digest, id_from_name
from clipguard.core.config import MediaLimits
from clipguard.core.contracts import ID_PATTERN
from clipguard.core.vocab import ClipIdFrom
from fixtures.clips import write_corrupt_clip
from media.local_files import looks_like_video
from usecases.scan_files import Refused, ScanFile, scan_files

ODD_NAMES = ["My clip (1).mp4", "été.mov", "clip+final.mp4", "obama+biden__1.mp4", "日本語.mp4", "x" * 300 + ".mp4",
             "tab\there.mp4", "-.mp4", "bad\udcffbyte.mp4"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_any_file_name_makes_a_valid_id(name: str):
    clip_id = id_from_name(name)
    assert ID_PATTERN.match(clip_id), clip_id
    assert id_from_name(name) == clip_id


def test_a_valid_name_is_its_own_id_and_a_changed_one_says_so():
    assert id_from_name("coffee-pan.mp4") == "coffee-pan"
    assert id_from_name("a.b.c.mp4") == "a.b.c"
    assert id_from_name("été.mov").startswith("ete-")
    assert id_from_name("My clip (1).mp4").startswith("My-clip-1-")
    assert len(id_from_name("x" * 300 + ".mp4")) == 128


def test_names_that_fold_alike_keep_ids_of_their_own():
    assert len({id_from_name(n) for n in ("a b.mp4", "a+b.mp4", "a-b.mp4", "a  b.mp4")}) == 4


def test_ids_two_files_share_are_told_apart_by_their_paths():
    assert distinct_ids(["clip", "clip", "other"], ["/a/clip.mp4", "/b/clip.mp4", "/other.mp4"]) == [
        id_from_name("clip") + "-" + _path_hash("/a/clip.mp4"), "clip-" + _path_hash("/b/clip.mp4"), "other"]
    assert id_from_digest("ab" * 32) == "sha256-" + "ab" * 16


def _path_hash(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:12]


def test_a_folder_of_odd_names_and_bad_files_gives_one_result_each(tmp_path: Path, clips_dir: Path):
    video = (clips_dir / "coffee-pan.mp4").read_bytes()
    for name in ("My clip (1).mp4", "été.mov", "a b.mp4", "a+b.mp4", "z.mp4"):
        (tmp_path / name).write_bytes(video)
    (tmp_path / "noise.mp4").write_bytes(os.urandom(4096))
    (tmp_path / "empty.webm").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a video, and not picked up from a folder")
    write_corrupt_clip(tmp_path / "corrupt.mp4")  # a container header: the decoder gets to say
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z.mp4").write_bytes(video)
    (tmp_path / "empty-folder").mkdir()

    flat = scan_files([str(tmp_path)], ClipIdFrom.NAME, False, MediaLimits())
    deep = scan_files([str(tmp_path), str(tmp_path / "z.mp4"), str(tmp_path / "empty-folder")],
                      ClipIdFrom.NAME, True, MediaLimits())

    assert [r.path.name for r in flat] == ["My clip (1).mp4", "a b.mp4", "a+b.mp4", "corrupt.mp4", "empty.webm",
                                           "noise.mp4", "z.mp4", "été.mov"]
    refused = {r.path.name: r.code for r in deep if isinstance(r, Refused)}
    assert refused == {"empty.webm": "media_empty", "noise.mp4": "media_not_video", "empty-folder": "no_videos"}
    files = [r for r in deep if isinstance(r, ScanFile)]
    # z.mp4 named again on its own is scanned once; sub/z.mp4 is another file with the same name.
    assert [f.path.relative_to(tmp_path).as_posix() for f in files].count("z.mp4") == 1
    ids = [f.clip_id for f in files]
    assert len(set(ids)) == len(ids) == 7 and all(ID_PATTERN.match(i) for i in ids)
    assert {"corrupt"} <= set(ids) and not {"z"} & set(ids)


def test_the_hash_scheme_names_a_file_by_its_content(tmp_path: Path, clips_dir: Path):
    for name in ("one.mp4", "two.mp4"):
        (tmp_path / name).write_bytes((clips_dir / "coffee-pan.mp4").read_bytes())
    one, two = scan_files([str(tmp_path / "one.mp4"), str(tmp_path / "two.mp4")], ClipIdFrom.HASH, False,
                          MediaLimits())
    alone, = scan_files([str(tmp_path / "one.mp4")], ClipIdFrom.HASH, False, MediaLimits())
    assert alone.clip_id == id_from_digest(hashlib.sha256((clips_dir / "coffee-pan.mp4").read_bytes()).hexdigest())
    # The same bytes under two names: one id each, told apart by their paths.
    assert one.clip_id != two.clip_id
    assert one.clip_id.startswith(alone.clip_id + "-") and two.clip_id.startswith(alone.clip_id + "-")


def test_each_file_that_cannot_be_scanned_says_why(tmp_path: Path, clips_dir: Path):
    big = tmp_path / "big.mp4"
    big.write_bytes((clips_dir / "coffee-pan.mp4").read_bytes())
    results = scan_files([str(tmp_path / "missing.mp4"), str(tmp_path / ("y" * 300 + ".mp4")), str(big),
                          "/dev/null"], ClipIdFrom.NAME, False, MediaLimits(max_bytes=1000))
    assert [(r.code, r.message) for r in results] == [
        ("media_missing", "missing.mp4 does not exist"),
        ("media_unreadable", f"{'y' * 300}.mp4 cannot be read: File name too long"),
        ("media_too_large", f"big.mp4 is {big.stat().st_size} bytes; the limit is 1000"),
        ("media_missing", "null is not a regular file")]
    assert results[0].to_dict() == {"path": str(tmp_path / "missing.mp4"),
                                    "error": {"code": "media_missing", "message": "missing.mp4 does not exist"}}


def test_the_container_sniff_knows_the_common_formats(clips_dir: Path):
    assert looks_like_video((clips_dir / "coffee-pan.mp4").read_bytes()[:512])
    assert looks_like_video(b"\x1a\x45\xdf\xa3" + bytes(60))
    assert not looks_like_video(b"\x89PNG\r\n\x1a\n" + bytes(60))
    assert not looks_like_video(b"hello, world")
