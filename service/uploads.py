"""Uploaded files read within the byte cap: what the claims and faces doors share.

The request body is already bounded (service/bodies.py) and spooled to disk by the multipart
parser. The files are read into memory one at a time, as the use case asks for the next, so one
request holds at most one file's bytes.
"""

from collections.abc import Iterator

from fastapi import HTTPException, UploadFile

from media.uploads import MAX_UPLOAD_BYTES, Upload


def uploaded(uploads: list[UploadFile], at_most: int, what: str) -> Iterator[Upload]:
    """The files, read lazily; 413 for too many files, or for one over the cap when it is reached."""
    if len(uploads) > at_most:
        raise HTTPException(413, f"{len(uploads)} {what}s; at most {at_most} per request")
    return (_read(upload, what) for upload in uploads)


def _read(upload: UploadFile, what: str) -> Upload:
    name = _name(upload, what)
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"{name}: {what}s are capped at {MAX_UPLOAD_BYTES >> 20} MiB")
    return Upload(name, data)


def _name(upload: UploadFile, what: str) -> str:
    # Only for messages and labels; never a path. Bounded, so a 60k-character name is not echoed.
    return (upload.filename or what)[:120]
