"""Uploaded files read within the byte cap: what the claims and faces doors share."""


from fastapi import HTTPException, UploadFile

from media.uploads import MAX_UPLOAD_BYTES, Upload


async def read_uploads(uploads: list[UploadFile], at_most: int, what: str) -> list[Upload]:
    """The files' bytes; 413 for too many files or one over the cap, before reading the rest."""
    if len(uploads) > at_most:
        raise HTTPException(413, f"{len(uploads)} {what}s; at most {at_most} per request")
    files = []
    for upload in uploads:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"{upload.filename}: {what}s are capped at {MAX_UPLOAD_BYTES >> 20} MiB")
        files.append(Upload(upload.filename or what, data))
    return files
