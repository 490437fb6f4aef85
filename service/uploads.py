"""Uploaded files read within the byte cap, and retroscans started beside the API: what the
claims and faces doors share."""

import subprocess
import sys

from fastapi import HTTPException, UploadFile

from media.uploads import MAX_UPLOAD_BYTES, Upload
from service.auth import Services


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


def start_retroscan(svc: Services, *target: str) -> None:
    """`clipguard retroscan <target>` in its own process: a Beam batch job should not share the
    API's event loop or memory. Its output goes to $CLIPGUARD_HOME/retroscan.log."""
    with (svc.settings.home / "retroscan.log").open("ab") as log:
        subprocess.Popen([sys.executable, "-m", "clipguard", "retroscan", *target], env=svc.settings.to_env(),
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
