"""Photos (or a short clip) of one person turned into the face embeddings a gallery stores: one
door for public figures and cameo owners, from the CLI and the REST API alike. A file must show
exactly one face, large enough to identify; otherwise the whole enrolment is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from classifiers.faces.handler import FaceBackend, see_people
from clipguard.core.config import MediaLimits
from media.sampling import thumbnail_jpeg
from media.uploads import BadUpload, Upload, read_media
from registry.faces import NewFace

# Smaller faces enrol blurry embeddings that match strangers; ask for a closer photo instead.
MIN_ENROL_FACE_PX = 64
FACE_MARGIN = 0.25
# The gate's detector also reports faint face-like patches (a badge on the astronaut's suit
# scores 0.12); a second face on an enrolment photo only counts when it is a confident one.
SECOND_FACE_SCORE = 0.3


def enrol_faces(files: Iterable[Upload], limits: MediaLimits, backend: FaceBackend) -> list[NewFace]:
    """One face per file; the files are read one at a time, in order."""
    faces = []
    for file in files:
        media = read_media(file, limits)
        seen = see_people(backend, media.frames)
        seen = sorted(seen, key=lambda p: -p.detection.score)
        seen = seen[:1] + [p for p in seen[1:] if p.detection.score >= SECOND_FACE_SCORE]
        if not seen:
            raise BadUpload(f"{file.name}: no face found; send a photo that shows the face clearly")
        if len(seen) > 1:
            raise BadUpload(f"{file.name}: {len(seen)} faces; send a photo of the one person being enrolled")
        person = seen[0]
        if person.detection.side < MIN_ENROL_FACE_PX:
            raise BadUpload(f"{file.name}: the face is {person.detection.side} px across; send a photo where it "
                            f"is at least {MIN_ENROL_FACE_PX} px")
        x0, y0, x1, y1 = person.detection.box
        pad = int(FACE_MARGIN * (x1 - x0))
        rgb = media.frames[person.position]
        crop = rgb[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
        faces.append(NewFace(person.embedding, backend.version, media.sha256, thumbnail_jpeg(crop, 160)))
    if not faces:
        raise BadUpload("enrolment needs at least one photo or clip")
    return faces
