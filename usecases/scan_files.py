"""What `clipguard scan` is given, made into files to decide: folders opened, the same file named
twice taken once, every file checked before a decoder sees it, and each one given a clip id.

A file that fails comes back `Refused`, with the code and message the user sees on its own result
line; the others go on to be decided. Nothing here raises for one bad file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clipguard.core.clip_ids import distinct_ids, id_from_digest, id_from_name
from clipguard.core.config import MediaLimits
from clipguard.core.media import MediaError
from clipguard.core.vocab import ClipIdFrom
from media.local_files import check_video_file, file_sha256, videos_in


@dataclass(frozen=True)
class ScanFile:
    path: Path          # as the user named it, or as the folder walk found it
    clip_id: str


@dataclass(frozen=True)
class Refused:
    path: Path
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"path": os.fsdecode(self.path), "error": {"code": self.code, "message": self.message}}


def scan_files(args: Iterable[str], id_from: ClipIdFrom, recursive: bool,
               limits: MediaLimits) -> list[ScanFile | Refused]:
    """One result per file, in the order given (a folder's videos sorted by path)."""
    checked = [_checked(path, limits) for path in _unique(_expanded(args, recursive))]
    files = [item for item in checked if isinstance(item, Path)]
    named = iter(distinct_ids([_id(path, id_from) for path in files], [str(path.resolve()) for path in files]))
    return [item if isinstance(item, Refused) else _named(item, next(named)) for item in checked]


def _expanded(args: Iterable[str], recursive: bool) -> Iterable[Path | Refused]:
    for arg in args:
        path = Path(arg)
        if not os.path.isdir(path):  # False, not an error, for a name the file system refuses
            yield path
        elif videos := videos_in(path, recursive):
            yield from videos
        else:
            where = "in or below it" if recursive else "in it (--recursive looks in its subfolders)"
            yield Refused(path, "no_videos", f"{arg} is a folder with no video file {where}")


def _unique(paths: Iterable[Path | Refused]) -> Iterable[Path | Refused]:
    """The same file named twice (or found under two folder arguments) is decided once."""
    seen: set[str] = set()
    for path in paths:
        if isinstance(path, Refused):
            yield path
            continue
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            yield path


def _checked(path: Path | Refused, limits: MediaLimits) -> Path | Refused:
    if isinstance(path, Refused):
        return path
    try:
        check_video_file(path, limits)
    except MediaError as exc:
        return Refused(path, exc.code, str(exc))
    return path


def _id(path: Path, id_from: ClipIdFrom) -> str:
    return id_from_digest(file_sha256(path)) if id_from == ClipIdFrom.HASH else id_from_name(path.name)


def _named(path: Path, clip_id: str | None) -> ScanFile | Refused:
    if clip_id is None:
        return Refused(path, "bad_id", f"{os.fsdecode(path.name)}'s clip id collides with another file's even "
                                       "after hashing their paths; rename one of them")
    return ScanFile(path, clip_id)
