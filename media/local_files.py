"""Files on a user's disk, as `clipguard scan` finds them: the videos in a folder, and the checks
that refuse one file before any decoder runs (missing, unreadable, empty, too large, not a video)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from clipguard.core.config import MediaLimits
from clipguard.core.media import MediaError
from media.sampling import check_size

# What a folder scan picks up. A file named on the command line is taken whatever its suffix, and
# a picked-up file still has to look like a video inside.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts",
                            ".m2ts", ".flv", ".3gp", ".3g2", ".ogv", ".wmv", ".asf", ".h264", ".hevc"})
_HEAD_BYTES = 512
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")  # MP4, MOV, 3GP at offset 4


def videos_in(folder: Path, recursive: bool) -> list[Path]:
    """The files with a video suffix in `folder` (and below it, when `recursive`), sorted.
    Symlinked folders are not followed, so a link loop cannot make the walk endless."""
    found: list[Path] = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        found += (Path(top) / name for name in files if Path(name).suffix.lower() in VIDEO_SUFFIXES)
        if not recursive:
            dirs.clear()
    return sorted(found)


def check_video_file(path: Path, limits: MediaLimits) -> None:
    """MediaError unless `path` is a readable, non-empty file within the byte limit whose first
    bytes name a container the decoder reads. Whether its frames decode is the decoder's to say."""
    try:
        check_size(path, limits)
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError as exc:  # permission denied, a name too long, an unreadable disk
        raise MediaError("media_unreadable", f"{path.name} cannot be read: {exc.strerror or exc}") from None
    if not looks_like_video(head):
        raise MediaError("media_not_video", f"{path.name} is not a video: its first bytes match no video container")


def looks_like_video(head: bytes) -> bool:
    """Whether a file's first bytes are those of a video container (or a raw H.264/H.265 stream)."""
    return (head[4:8] in _ISO_BOXES
            or head.startswith((b"\x1a\x45\xdf\xa3",              # Matroska, WebM
                                b"FLV", b"OggS",
                                b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF, WMV
                                b"\x00\x00\x01", b"\x00\x00\x00\x01"))  # MPEG-PS, Annex B H.264/H.265
            or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
            or (len(head) > 188 and head[0] == head[188] == 0x47))      # MPEG transport stream


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB pieces (the caller has bounded its size)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()
