"""The `faces` signal: whose faces does a clip show, and did they agree to be in it?

    sampled frames -> detect (backend; only where a frame changed) -> track across frames
        -> embed each track's best face -> nearest public figures and cameo owners in the gallery -> findings

Two backends behind one `FaceBackend` interface: dlib (the embedded default; detector, 5-point
alignment and 128-d ResNet embedding from `face-recognition-models`) and insightface from an
operator's weights directory. A person counts once per clip: detections are linked across frames
by overlap, and tracks whose embeddings agree are merged, so each person is one track embedded
from its best sighting. The signal reports matches with their distances and, for cameo owners,
whether their permission covers this creator; `policies/` turns that into likeness and consent
verdicts. Each track's embedding goes into `features`, so a revocation can be re-checked later
without decoding the clip again.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from classifiers.base import SignalHandler, onnx_providers, weights_digest
from classifiers.faces.changes import Box, detect_where_changed
from classifiers.galleries import SUBJECT_NOUN, GalleryIndex, LiveGallery, Permits, attributed, closeness
from clipguard.core.contracts import thumbnail_ref
from clipguard.core.people import Gallery
from clipguard.core.signals import ClipInput, Finding, Signal

# Detections in consecutive sampled frames with at least this overlap are the same face.
TRACK_IOU = 0.3
# How often the gate reloads the galleries: a new enrolment or a revocation applies this quickly.
REFRESH_S = 5.0
# Below this many pixels on a side, a face is too small to identify anyone reliably.
MIN_FACE_PX = 40


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float
    landmarks: Any = None            # the backend's own alignment points

    @property
    def side(self) -> int:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


class FaceBackend(Protocol):
    name: str            # what decisions name in `models`, and what the policy keys its bars by
    version: str         # embeddings are only compared with embeddings of the same version
    same_person: float   # tracks closer than this distance are one person

    def detect(self, rgb: np.ndarray, within: Box | None = None) -> list[Detection]:
        """Faces in the frame, or only those inside `within`, in whole-frame coordinates."""

    def embed(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        """One row per face, in the backend's distance space (Euclidean)."""


class DlibBackend:
    """dlib's HOG detector, 5-point alignment and ResNet embedding (LFW 99.38% at distance 0.6).
    The 68-point landmark model in the same package is licensed non-commercial: not used."""

    name = "dlib-resnet-v1"
    same_person = 0.5

    def __init__(self, upsample: int = 1, min_score: float = 0.0):
        import dlib

        models = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]) / "models"
        self._dlib = dlib
        self._landmarks_file = str(models / "shape_predictor_5_face_landmarks.dat")
        # One detector and landmark model per thread: dlib's are not safe to share across threads
        # (two threads in one detector's run() crashed the process).
        self._local = threading.local()
        self._encoder = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        # Upsampling once finds faces down to ~40 px, which 512-px frames of a 720p clip need.
        self._upsample = upsample
        # dlib's own default. At 0.2 the face harness lost faces after blur, rotation or dimming
        # (8.9% of its clips missed against 2.2%); what a lower bar adds is the odd badge or patch,
        # whose embedding is far from everyone enrolled.
        self._min_score = min_score
        self.version = f"dlib-{dlib.__version__}/resnet-v1"

    def _models(self) -> tuple[Any, Any]:
        if not hasattr(self._local, "detector"):
            self._local.detector = self._dlib.get_frontal_face_detector()
            self._local.shapes = self._dlib.shape_predictor(self._landmarks_file)
        return self._local.detector, self._local.shapes

    def detect(self, rgb: np.ndarray, within: Box | None = None) -> list[Detection]:
        detector, shapes = self._models()
        x0, y0, x1, y1 = within or (0, 0, rgb.shape[1], rgb.shape[0])
        # On grey, not colour: HOG on colour takes each pixel's strongest channel, which costs a
        # third more, and on the face harness grey found more faces (no probe missed against
        # 2.2%; docs/faces.md). Alignment and the embedding still see colour.
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        rects, scores, _ = detector.run(grey, self._upsample, self._min_score)
        height, width = rgb.shape[:2]
        out = []
        for rect, score in zip(rects, scores, strict=True):
            # Landmarks are found on the whole frame: `embed` aligns from the whole frame.
            rect = self._dlib.rectangle(rect.left() + x0, rect.top() + y0, rect.right() + x0, rect.bottom() + y0)
            box = (max(0, rect.left()), max(0, rect.top()), min(width, rect.right()), min(height, rect.bottom()))
            out.append(Detection(box, round(float(score), 3), shapes(rgb, rect)))
        return out

    def embed(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 128), np.float32)
        shapes = self._dlib.full_object_detections()
        for face in faces:
            shapes.append(face.landmarks)
        return np.asarray([np.asarray(v) for v in self._encoder.compute_face_descriptor(rgb, shapes)],
                          np.float32)


class InsightFaceBackend:
    """insightface's `FaceAnalysis` on an operator's model folder (detection + recognition ONNX).
    insightface's own buffalo_l weights are licensed for non-commercial research only: an
    operator brings weights licensed for their use. Embeddings are L2-normalised, so Euclidean
    distance is sqrt(2 - 2 cos)."""

    name = "insightface"
    same_person = 1.0

    def __init__(self, model_dir: Path, det_size: int = 640):
        from insightface.app import FaceAnalysis
        from insightface.utils import face_align

        providers = onnx_providers()
        self._app = FaceAnalysis(name=str(model_dir), allowed_modules=["detection", "recognition"],
                                 providers=providers)
        self._app.prepare(ctx_id=0 if providers[0].startswith("CUDA") else -1, det_size=(det_size, det_size))
        self._recognition = self._app.models["recognition"]
        self._align = face_align.norm_crop
        self.version = f"insightface/sha256:{weights_digest(Path(model_dir), ('*.onnx',))}"

    def detect(self, rgb: np.ndarray, within: Box | None = None) -> list[Detection]:
        left, top, right, bottom = within or (0, 0, rgb.shape[1], rgb.shape[0])
        boxes, points = self._app.det_model.detect(np.ascontiguousarray(rgb[top:bottom, left:right, ::-1]), max_num=0)
        height, width = rgb.shape[:2]
        out = []
        for i, row in enumerate(boxes):
            x0, y0, x1, y1 = (round(float(v)) for v in row[:4] + np.array([left, top, left, top]))
            out.append(Detection((max(0, x0), max(0, y0), min(width, x1), min(height, y1)), round(float(row[4]), 3),
                                 None if points is None else points[i] + (left, top)))
        return out

    def embed(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self._recognition.output_shape[1]), np.float32)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        size = self._recognition.input_size[0]
        crops = [self._align(bgr, landmark=face.landmarks, image_size=size) for face in faces]
        vectors = np.asarray(self._recognition.get_feat(crops), np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def configured_backend(model_dir: Path | None) -> FaceBackend:
    """insightface on the operator's folder when one is named, otherwise the embedded dlib."""
    return InsightFaceBackend(model_dir) if model_dir else DlibBackend()


# --- one person per clip -------------------------------------------------------------------------

@dataclass
class Track:
    """One person's detections across the sampled frames (positions into the clip's frames)."""

    sightings: list[tuple[int, Detection]] = field(default_factory=list)

    @property
    def best(self) -> tuple[int, Detection]:
        return max(self.sightings, key=lambda s: identifying(s[1]))


def identifying(detection: Detection) -> tuple[bool, float]:
    """How likely a sighting is to identify its person: large enough first, then confident and large."""
    return detection.side >= MIN_FACE_PX, detection.score * detection.side


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def link_tracks(per_frame: Sequence[Sequence[Detection]]) -> list[Track]:
    """Greedy overlap linking of each frame's detections to the tracks alive in the frame before."""
    tracks: list[Track] = []
    alive: list[Track] = []
    for position, detections in enumerate(per_frame):
        pairs = sorted(((iou(t.sightings[-1][1].box, d.box), ti, di) for ti, t in enumerate(alive)
                        for di, d in enumerate(detections)), reverse=True)
        taken_tracks, taken_faces, next_alive = set(), set(), []
        for overlap, ti, di in pairs:
            if overlap < TRACK_IOU or ti in taken_tracks or di in taken_faces:
                continue
            alive[ti].sightings.append((position, detections[di]))
            taken_tracks.add(ti)
            taken_faces.add(di)
            next_alive.append(alive[ti])
        for di, detection in enumerate(detections):
            if di not in taken_faces:
                track = Track([(position, detection)])
                tracks.append(track)
                next_alive.append(track)
        alive = next_alive
    return tracks


@dataclass(frozen=True)
class Person:
    """One person seen in a clip: their tracks, best sighting and its embedding."""

    position: int            # index into the clip's sampled frames of the best sighting
    detection: Detection
    embedding: np.ndarray
    sightings: int


def people(tracks: Sequence[Track], embeddings: np.ndarray, same_person: float) -> list[Person]:
    """Merge tracks whose best-sighting embeddings lie within `same_person` (a face lost behind a
    cut or a turn comes back as a new track), keeping the best sighting of each group."""
    groups: list[list[int]] = []
    for i in range(len(tracks)):
        for group in groups:
            if np.linalg.norm(embeddings[group[0]] - embeddings[i]) < same_person:
                group.append(i)
                break
        else:
            groups.append([i])
    out = []
    for group in groups:
        best = max(group, key=lambda i: identifying(tracks[i].best[1]))
        position, detection = tracks[best].best
        out.append(Person(position, detection, embeddings[best], sum(len(tracks[i].sightings) for i in group)))
    return out


class FaceModel(LiveGallery):
    """The enrolled faces of the backend's model, kept current, and the threads the backend runs
    on. Both belong to the loaded model, not to the handler: a runner may load the model through
    one copy of the handler and score through another (Flink does)."""

    def __init__(self, load: Callable[[str], Gallery], backend: FaceBackend, refresh_s: float, threads: int = 2):
        self.backend = backend
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="faces")
        super().__init__(load, backend.version, refresh_s)


# --- the signal ----------------------------------------------------------------------------------

# The widest distance the gallery reports, per backend; the policy's bars decide what counts.
SEARCH_DISTANCE = {"dlib-resnet-v1": 0.7, "insightface": 1.3}


class FaceHandler(SignalHandler[FaceModel]):
    name = "faces"

    def __init__(self, galleries: Callable[[str], Gallery], permits: Permits, model_dir: Path | None = None,
                 refresh_s: float = REFRESH_S, threads: int = 2, **batching: int):
        super().__init__(**batching)
        self._galleries = galleries
        self._permits = permits
        self._model_dir = model_dir
        self._refresh_s = refresh_s
        self._threads = threads
        self.model_name = InsightFaceBackend.name if model_dir else DlibBackend.name
        self.model_version = "not loaded"

    def load_model(self) -> FaceModel:
        backend = configured_backend(self._model_dir)
        # A failed signal names the loaded weights too, not a placeholder.
        self.model_name, self.model_version = backend.name, backend.version
        return FaceModel(self._galleries, backend, self._refresh_s, self._threads)

    def identify(self, model: FaceModel) -> tuple[str, str]:
        return model.backend.name, model.backend.version

    def score(self, model: FaceModel, batch: Sequence[ClipInput]) -> list[Signal]:
        index = model.current()
        return [self._score_clip(model, index, item) for item in batch]

    def _score_clip(self, model: FaceModel, index: GalleryIndex, item: ClipInput) -> Signal:
        frames = item.clip.frames
        backend = model.backend
        seen = see_people(backend, [f.rgb for f in frames], model.pool.map)
        event = item.event
        findings: list[Finding] = []
        tracks = []
        for number, person in enumerate(seen):
            frame = frames[person.position]
            where = {"person": number, "frame": frame.index, "t": frame.t,
                     "box": fractional_box(person.detection.box, frame.rgb.shape),
                     "sightings": person.sightings, "thumbnail": thumbnail_ref(event.clip_id, frame.index)}
            tracks.append({**where, "embedding": [round(float(x), 5) for x in person.embedding]})
            findings += person_findings(index, backend.name, person.embedding, event.creator_id, event.cameo_ids,
                                        where, self._permits)
        seen_owners = {f.evidence["subject_id"] for f in findings if f.evidence["kind"] == "cameo"}
        findings += declared_findings(index, event.creator_id, event.cameo_ids, seen_owners, self._permits)
        return Signal(self.name, backend.name, backend.version, ok=True, findings=tuple(findings),
                      features={"backend": backend.name, "model": backend.version, "people": tracks})


def see_people(backend: FaceBackend, frames: Sequence[np.ndarray],
               mapper: Callable[..., Iterable[list[Detection]]] = map,
               search: Callable[..., list[list[Detection]]] = detect_where_changed) -> list[Person]:
    """Everyone in `frames`: detections (by `search`: where the frames changed, whole frames in
    parallel through `mapper`), tracks, one embedding per track, merged into people. Used by the
    gate and by enrolment alike."""
    per_frame = search(backend.detect, frames, mapper)
    tracks = link_tracks(per_frame)
    if not tracks:
        return []
    # One embed call per frame, for the tracks whose best sighting is in it.
    by_frame: dict[int, list[int]] = {}
    for i, track in enumerate(tracks):
        by_frame.setdefault(track.best[0], []).append(i)
    embeddings: list[np.ndarray] = [np.empty(0)] * len(tracks)
    for position, members in by_frame.items():
        for i, vector in zip(members, backend.embed(frames[position], [tracks[i].best[1] for i in members]),
                             strict=True):
            embeddings[i] = vector
    return people(tracks, np.stack(embeddings), backend.same_person)


def fractional_box(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> list[float]:
    """(x, y, width, height) as fractions of the frame: what the console draws, at any thumbnail size."""
    height, width = shape[:2]
    x0, y0, x1, y1 = box
    return [round(x0 / width, 4), round(y0 / height, 4), round((x1 - x0) / width, 4), round((y1 - y0) / height, 4)]


def person_findings(index: GalleryIndex, backend: str, embedding: np.ndarray, creator: str,
                    declared: Sequence[str], where: dict[str, Any], permits: Permits) -> list[Finding]:
    """The enrolled person closest to one seen in a clip, as the gate and retroscan both report it."""
    evidence = attributed(index, embedding, SEARCH_DISTANCE[backend], creator, declared, permits)
    if evidence is None:
        return []
    return [Finding(f"frame {where['frame']}: a face is {evidence['distance']:.3f} from "
                    f"{SUBJECT_NOUN[evidence['kind']]} {evidence['name']!r}", closeness(evidence['distance']),
                    evidence | where)]


def declared_findings(index: GalleryIndex, creator: str, declared: Sequence[str],
                      seen: set[str], permits: Permits) -> list[Finding]:
    """Cameos the clip declares but whose owner does not permit this creator and whose face was
    not seen: declaring a cameo grants nothing, so an analyst looks at what was claimed."""
    owners = {s.subject_id: s for s in index.gallery.subjects if s.kind == "cameo"}
    out = []
    for owner in declared:
        subject = owners.get(owner)
        if subject is None or owner in seen or permits(subject.grant, owner, creator):
            continue
        out.append(Finding(f"the clip declares cameo {owner!r}, whose permission ({subject.grant.permission}) "
                           f"does not include creator {creator!r}", None,
                           {"kind": "declared", "subject_id": owner, "name": subject.name,
                            "permission": subject.grant.permission, "declared": True,
                            "creator_permitted": False}))
    return out
