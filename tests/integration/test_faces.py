"""Faces end to end below the service: tracking, the gallery index, enrolment checks, the
likeness and consent rules, the figures and cameos CLI with `scan`, the owner's REST door, and
the revocation retroscan on a real broker. Real dlib models throughout."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from classifiers.faces.changes import every_frame_whole
from classifiers.faces.handler import (
    Detection,
    DlibBackend,
    FaceHandler,
    link_tracks,
    people,
    see_people,
)
from classifiers.faces.rule import face_rule
from classifiers.galleries import ExactIndex, HnswIndex
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated, Decision
from clipguard.core.people import Gallery, Grant, Subject
from clipguard.core.signals import ClipInput, Finding, Signal
from fixtures.clips import image, write_frames
from fixtures.edits import EDITS, on_background
from fixtures.faces import face_photo, photo_file
from media.sampling import sample_frames
from media.uploads import BadUpload, Upload
from pipelines.kafka_io import read_decisions
from pipelines.retroscan import run_cameo_retroscan
from policies.consent import permits
from policies.engine import PolicyError, decide
from registry.db import migrate
from registry.faces import REVOKED, FaceStore, Sighting
from registry.store import DecidedClip, DecisionStore
from service.app import create_app
from tests.builders import decision
from tests.conftest import clipguard
from usecases.enrolment import enrol_faces
from usecases.policy_files import load_policy

POLICY = load_policy()
BACKEND = DlibBackend()
AT = "2026-11-21T12:00:00Z"


def clip_of(tmp: Path, name: str, rgb: np.ndarray) -> Path:
    return write_frames(tmp / f"{name}.mp4", [on_background(rgb, "brick", 0.8)] * 36, 24, (640, 360))


def enrolled(person: str, edit: str | None = None) -> list:
    photo = face_photo(person) if edit is None else EDITS[edit](face_photo(person))
    out = io.BytesIO()
    Image.fromarray(photo).save(out, format="PNG")
    return enrol_faces([Upload(f"{person}.png", out.getvalue())], MediaLimits(), BACKEND)


# --- pieces -------------------------------------------------------------------------------------

def test_permissions_follow_the_owners_choice():
    assert permits(Grant("only_me"), "ana", "ana") and not permits(Grant("only_me"), "ana", "bob")
    assert permits(Grant("approved", frozenset({"bob"})), "ana", "bob")
    assert not permits(Grant("approved", frozenset({"bob"})), "ana", "carl")
    assert permits(Grant("mutuals", mutuals=frozenset({"carl"})), "ana", "carl")
    assert not permits(Grant("mutuals", mutuals=frozenset({"carl"})), "ana", "bob")
    assert permits(Grant("everyone"), "ana", "anyone")
    assert not permits(Grant(REVOKED, frozenset({"bob"})), "ana", "bob")


def test_detections_link_into_tracks_and_tracks_of_one_person_merge():
    left, right = (10, 10, 60, 60), (200, 10, 250, 60)
    moved = (14, 12, 64, 62)
    tracks = link_tracks([[Detection(left, 1.0), Detection(right, 0.5)], [Detection(moved, 2.0)], [],
                          [Detection(left, 0.9)]])
    assert [len(t.sightings) for t in tracks] == [2, 1, 1]
    assert tracks[0].best == (1, Detection(moved, 2.0))
    vectors = np.array([[0.0, 0.0], [1.0, 0.0], [0.1, 0.0]], np.float32)
    merged = people(tracks, vectors, same_person=0.5)
    assert len(merged) == 2 and merged[0].sightings == 3


def test_searching_only_where_frames_changed_finds_what_searching_every_frame_finds(tmp_path: Path):
    """A still shot of one person, a second person pasted in from 4 s on: the same people and the
    same distances as detecting on every frame whole, from a fraction of the searched area."""
    still = Image.fromarray(on_background(face_photo("grace-hopper"), "brick", 0.6))
    joined = still.copy()
    joined.paste(Image.fromarray(face_photo("group-a")).resize((130, 130)), (480, 40))
    path = write_frames(tmp_path / "enters.mp4", [np.asarray(still)] * 96 + [np.asarray(joined)] * 144, 24,
                        (640, 360))
    frames = [f.rgb for f in sample_frames(path, MediaLimits()).frames]
    searched: list[int] = []

    class Counting(DlibBackend):
        def detect(self, rgb, within=None):
            x0, y0, x1, y1 = within or (0, 0, rgb.shape[1], rgb.shape[0])
            searched.append((x1 - x0) * (y1 - y0))
            return super().detect(rgb, within)

    seen = see_people(Counting(), frames)
    everywhere = see_people(BACKEND, frames, search=every_frame_whole)
    assert len(seen) == len(everywhere) == 2
    assert sorted(p.sightings for p in seen) == sorted(p.sightings for p in everywhere)
    assert min(p.sightings for p in seen) < len(frames) == max(p.sightings for p in seen)
    apart = [min(float(np.linalg.norm(p.embedding - q.embedding)) for q in everywhere) for p in seen]
    # A crop may pick another frame as a person's best sighting: two sightings of one person sit
    # under 0.15 apart (0.08 here), two people past the 0.6 match bar.
    assert max(apart) < 0.15, apart
    assert sum(searched) < 0.4 * len(frames) * frames[0].shape[0] * frames[0].shape[1]


def test_the_exact_and_hnsw_indexes_find_the_same_nearest_photo():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 128)).astype(np.float32)
    exact, hnsw = ExactIndex(vectors), HnswIndex(vectors)
    for row in rng.choice(3000, 50, replace=False):
        query = vectors[row] + rng.normal(scale=0.01, size=128).astype(np.float32)
        assert exact.query(query, 1)[0][0] == row == hnsw.query(query, 1)[0][0]
        assert exact.query(query, 1)[0][1] == pytest.approx(np.linalg.norm(query - vectors[row]), abs=1e-3)


@pytest.mark.parametrize(("upload", "complaint"), [
    (lambda: Upload("cat.png", _png(image("chelsea"))), "no face found"),
    (lambda: Upload("group.png", _png(side_by_side("group-a", "group-f"))), "2 faces"),
    (lambda: Upload("tiny.png", _png(np.asarray(Image.fromarray(face_photo("grace-hopper")).resize((120, 140))))),
     "px across"),
    (lambda: Upload("broken.jpg", b"\xff\xd8\xff\xe0 not really"), "not a readable image"),
    (lambda: Upload("empty.png", b""), "empty"),
])
def test_bad_enrolment_photos_are_refused_with_the_reason(upload, complaint):
    with pytest.raises(BadUpload, match=complaint):
        enrol_faces([photo_file("grace-hopper"), upload()], MediaLimits(), BACKEND)


def side_by_side(*people: str) -> np.ndarray:
    return np.hstack([np.asarray(Image.fromarray(face_photo(p)).resize((250, 250))) for p in people])


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def _finding(kind: str, distance: float, permitted: bool = False, permission: str | None = None) -> Finding:
    return Finding("x", 1 - distance, {"kind": kind, "subject_id": "s", "name": "Someone", "distance": distance,
                                       "frame": 3, "permission": permission, "creator_permitted": permitted,
                                       "declared": False, "cameo_user": None})


@pytest.mark.parametrize(("finding", "expected"), [
    (_finding("figure", 0.40), [("block", "likeness")]),
    (_finding("figure", 0.59), [("review", "likeness")]),
    (_finding("figure", 0.65), []),
    (_finding("figure", 0.40, permitted=True, permission="approved"), []),
    (_finding("cameo", 0.40, permission="only_me"), [("block", "consent")]),
    (_finding("cameo", 0.40, permitted=True, permission="everyone"), []),
    (Finding("declared", None, {"kind": "declared", "subject_id": "ana", "permission": "only_me"}),
     [("review", "consent")]),
])
def test_the_face_rule(finding: Finding, expected: list):
    signal = Signal("faces", "dlib-resnet-v1", "v", ok=True, findings=(finding,))
    ruled = face_rule(signal, POLICY.signals["faces"], POLICY.label, {})
    assert [(v, r.signal) for v, r in ruled] == expected


def test_an_unknown_face_model_is_reviewed_and_inconsistent_bars_are_refused(tmp_path: Path):
    signal = Signal("faces", "someone-elses-model", "v", ok=True, findings=(_finding("figure", 0.1),))
    assert decide({"faces": signal}, POLICY).verdict == "review"
    text = Path("policies/default.yaml").read_text().replace("{match_distance: 0.575, review_distance: 0.6}",
                                                             "{match_distance: 0.7, review_distance: 0.6}")
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(PolicyError, match="faces bars"):
        load_policy(tmp_path / "bad.yaml")


# --- the signal on real clips -------------------------------------------------------------------

def score(tmp_path: Path, gallery: Gallery, rgb: np.ndarray, creator: str, cameos: tuple[str, ...] = ()) -> Signal:
    handler = FaceHandler(lambda model: gallery, permits)
    model = handler.load_model()
    path = clip_of(tmp_path, "probe", rgb)
    event = ClipGenerated("probe", creator, path.as_uri(), AT, cameo_ids=cameos)
    return handler.score(model, [ClipInput(event, sample_frames(path, MediaLimits()))])[0]


def test_one_person_over_many_frames_counts_once_with_a_box(tmp_path: Path):
    [face] = enrolled("grace-hopper")
    gallery = Gallery((Subject("figure", "f1", "Grace Hopper"),), (0,), face.vector[None, :])
    signal = score(tmp_path, gallery, EDITS["mirror"](face_photo("grace-hopper")), "bob")
    [finding] = signal.findings
    assert finding.evidence["sightings"] > 1 and len(signal.features["people"]) == 1
    x, y, w, h = finding.evidence["box"]
    assert 0 <= x < 1 and 0 <= y < 1 and 0 < w < 0.5 and 0 < h < 0.7
    assert decide({"faces": signal}, POLICY).verdict == "block"


# --- through the public CLI ---------------------------------------------------------------------

def test_figures_and_cameos_through_the_cli(settings: Settings, tmp_path: Path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in ("grace-hopper", "group-a", "eileen-collins"):
        (photos / f"{person}.png").write_bytes(photo_file(person).data)
    added = clipguard(["figures", "add", "--name", "Grace Hopper", "--photo", str(photos / "grace-hopper.png")],
                      settings)
    assert added.returncode == 0, added.stderr
    enrolled = clipguard(["cameos", "enroll", "--user", "ana", "--photo", str(photos / "group-a.png"),
                          "--permission", "approved", "--allow", "bob"], settings)
    assert enrolled.returncode == 0, enrolled.stderr
    refused = clipguard(["figures", "add", "--name", "Group", "--photo",
                         str(write_png(tmp_path / "group.png", side_by_side("group-c", "group-d")))], settings)
    assert refused.returncode == 2 and "2 faces" in refused.stderr

    clips = tmp_path / "clips"
    clips.mkdir()
    hopper = clip_of(clips, "hopper-new", EDITS["mirror"](EDITS["brightness"](face_photo("grace-hopper"))))
    ana = clip_of(clips, "ana-cameo", EDITS["jpeg_25"](face_photo("group-a")))
    stranger = clip_of(clips, "stranger", face_photo("group-c"))

    def scan(path: Path, creator: str, *extra: str) -> dict:
        done = clipguard(["scan", str(path), "--creator", creator, "--json", *extra], settings)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    blocked = scan(hopper, "bob")
    assert blocked["verdict"] == "block" and blocked["reasons"][0]["signal"] == "likeness"
    assert scan(ana, "bob", "--cameo", "ana")["verdict"] == "allow"
    consent = scan(ana, "mallory", "--cameo", "ana")
    assert consent["verdict"] == "block" and consent["reasons"][0]["signal"] == "consent"
    assert scan(stranger, "bob")["verdict"] == "allow"

    listed = clipguard(["cameos", "list", "--json"], settings)
    assert json.loads(listed.stdout)["permission"] == "approved"
    assert "Grace Hopper" in clipguard(["figures", "list"], settings).stdout


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.write_bytes(_png(rgb))
    return path


# --- revocation ---------------------------------------------------------------------------------

def published(store: DecisionStore, tmp_path: Path, clip_id: str, creator: str, rgb: np.ndarray,
              verdict: str = "allow", source: str = "gate", remix_of: str | None = None) -> None:
    """A clip the gate decided, with the face features it would have stored."""
    signal = score(tmp_path, Gallery(), rgb, creator)
    d = replace(decision(clip_id, verdict, source=source), reasons=())
    event = ClipGenerated(clip_id, creator, f"file:///media/{clip_id}.mp4", AT, remix_of=remix_of)
    store.record([DecidedClip(d, json.loads(event.to_json()), {"faces": (signal.model_version, signal.features)})])


def test_revoking_consent_takes_down_published_clips_by_others(settings: Settings, tmp_path: Path, bootstrap: str):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    engine = migrate(settings.database_url)
    store, faces = DecisionStore(engine), FaceStore(engine)
    faces.enroll("ana", enrolled("group-a"), "approved", ["bob"], "ana")
    published(store, tmp_path, "bob-with-ana", "bob", face_photo("group-a"))
    published(store, tmp_path, "ana-herself", "ana", face_photo("group-a"))
    published(store, tmp_path, "bob-stranger", "bob", face_photo("group-c"))
    published(store, tmp_path, "bob-analyst", "bob", face_photo("group-a"), source="analyst")

    assert run_cameo_retroscan(settings, "ana").taken_down == []      # bob is still approved
    faces.set_permission("ana", REVOKED, [], "ana")
    result = run_cameo_retroscan(settings, "ana")
    assert result.taken_down == ["bob-with-ana"] and result.scanned == 4
    on_kafka = read_decisions(bootstrap, {"bob-with-ana"}, timeout_s=30)
    assert on_kafka["bob-with-ana"]["source"] == "retroscan"
    assert on_kafka["bob-with-ana"]["reasons"][0]["signal"] == "consent"
    assert store.get("ana-herself")["verdict"] == "allow" and store.get("bob-analyst")["source"] == "analyst"
    assert faces.cameo("ana").history[-1]["action"] == "retroscanned"


def test_revoking_consent_takes_down_the_clip_and_its_remixes(settings: Settings, tmp_path: Path, bootstrap: str):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    engine = migrate(settings.database_url)
    store, faces = DecisionStore(engine), FaceStore(engine)
    faces.enroll("ana", enrolled("group-a"), "approved", ["bob", "carol"], "ana")
    published(store, tmp_path, "bob-with-ana", "bob", face_photo("group-a"))
    published(store, tmp_path, "carol-remix", "carol", face_photo("group-a"), remix_of="bob-with-ana")
    published(store, tmp_path, "dave-remix", "dave", face_photo("group-c"), remix_of="carol-remix")

    faces.set_permission("ana", REVOKED, [], "ana")
    result = run_cameo_retroscan(settings, "ana")
    assert result.taken_down == ["bob-with-ana", "carol-remix"]
    assert result.remixes.reviewed == ["dave-remix"]      # ana's face is not in it, but its lineage is
    on_kafka = read_decisions(bootstrap, {"bob-with-ana", "carol-remix", "dave-remix"}, timeout_s=30)
    assert {c: d["verdict"] for c, d in on_kafka.items()} == {"bob-with-ana": "takedown", "carol-remix": "takedown",
                                                             "dave-remix": "review"}
    assert on_kafka["dave-remix"]["reasons"][0]["evidence"]["root_id"] == "carol-remix"


# --- the owner's REST door ----------------------------------------------------------------------

def test_a_cameo_owner_manages_only_their_own_cameo(settings: Settings, tmp_path: Path):
    published_decisions: list[Decision] = []
    app = create_app(settings, publish=published_decisions.append)
    svc = app.state.services
    for name, role in (("ana", "cameo_owner"), ("bob", "cameo_owner"), ("root", "admin")):
        svc.accounts.add(name, role)
    tokens = {n: {"Authorization": f"Bearer {svc.accounts.issue_token(n)}"} for n in ("ana", "bob", "root")}
    with TestClient(app) as client:
        photo = {"photo": ("me.png", photo_file("group-a").data, "image/png")}
        enrolled = client.put("/v1/cameos/ana", headers=tokens["ana"], files=photo,
                              data={"permission": "approved", "approved": ["bob"]})
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["approved"] == ["bob"]
        assert client.get("/v1/cameos/ana", headers=tokens["bob"]).status_code == 403
        assert client.put("/v1/cameos/bob", headers=tokens["bob"], data={"permission": "only_me"},
                          files={"photo": ("cat.png", _png(image("chelsea")), "image/png")}).status_code == 422
        assert client.get("/v1/cameos/bob", headers=tokens["bob"]).status_code == 404   # nothing enrolled
        figure = client.post("/v1/figures", headers=tokens["root"], data={"name": "Grace Hopper"},
                             files={"photo": ("gh.png", photo_file("grace-hopper").data, "image/png")})
        assert figure.status_code == 201 and figure.json()["photos"] == 1

        # The gate saw ana in a clip by mallory, which eve remixed, and zed remixed eve's remix.
        def gated(clip_id: str, creator: str, remix_of: str | None = None) -> None:
            DecisionStore(svc.engine).record([DecidedClip(replace(decision(clip_id, "allow"), reasons=()), json.loads(
                ClipGenerated(clip_id, creator, f"file:///media/{clip_id}.mp4", AT, remix_of=remix_of).to_json()), {})])

        gated("m1", "mallory")
        gated("e1", "eve", remix_of="m1")
        gated("z1", "zed", remix_of="e1")
        svc.faces.record_sightings([Sighting("m1", "cameo", "ana", "mallory", 0.31, 4, "allow", "gate")])
        remixes = client.get("/v1/cameos/ana/remixes", headers=tokens["ana"]).json()
        assert [(r["clip_id"], r["generation"], r["verdict"]) for r in remixes] == [("e1", 1, "allow"),
                                                                                  ("z1", 2, "allow")]
        assert client.get("/v1/cameos/ana/remixes", headers=tokens["bob"]).status_code == 403
        assert [c["clip_id"] for c in client.get("/v1/cameos/ana/clips", headers=tokens["ana"]).json()] == ["m1"]
        assert client.post("/v1/cameos/ana/clips/other/removal", headers=tokens["ana"],
                           json={"reason": "not me"}).status_code == 404
        removal = client.post("/v1/cameos/ana/clips/m1/removal", headers=tokens["ana"],
                              json={"reason": "I never agreed to this"})
        assert removal.status_code == 201, removal.text
        assert removal.json()["verdict"] == "takedown" and removal.json()["source"] == "owner"
        # Its remixes still shown went to review, published before they were recorded.
        assert {d.clip_id: d.verdict for d in published_decisions} == {"m1": "takedown", "e1": "review",
                                                                      "z1": "review"}
        assert sorted((i.kind, i.clip_id) for i in svc.queue.items("pending")) == [
            ("removal_request", "m1"), ("review", "e1"), ("review", "z1")]
        # A remix does not show her face as far as the gate knows, yet she may ask for its removal too.
        remix_removal = client.post("/v1/cameos/ana/clips/z1/removal", headers=tokens["ana"],
                                    json={"reason": "a remix of a clip of me"})
        assert remix_removal.status_code == 201 and remix_removal.json()["verdict"] == "takedown"
        assert remix_removal.json()["reasons"][0]["evidence"]["remix_of_clip_showing_you"] == "m1"


# --- the production backend on stand-in weights -------------------------------------------------

def test_the_insightface_backend_loads_detects_aligns_and_embeds(tmp_path: Path):
    from tests.insightface_standins import model_dir

    weights = model_dir(tmp_path / "insightface")
    handler = FaceHandler(lambda model: gallery, permits, weights)
    model = handler.load_model()
    backend = model.backend
    assert handler.identify(model) == ("insightface", backend.version) and backend.version.startswith("insightface/")
    photo = face_photo("group-a")
    found = backend.detect(photo)
    assert found and all(0 <= d.box[0] < d.box[2] <= photo.shape[1] and 0 <= d.box[1] < d.box[3] <= photo.shape[0]
                         for d in found)
    vectors = backend.embed(photo, found[:4])
    assert vectors.shape == (min(4, len(found)), 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # The stand-in's "faces" are random boxes, too small to enrol; the person it sees stands in.
    seen = see_people(backend, [photo])
    gallery = Gallery((Subject("cameo", "ana", "ana", Grant("only_me"), "ana"),), (0,), seen[0].embedding[None, :])
    path = clip_of(tmp_path, "ana", photo)
    event = ClipGenerated("ana-clip", "mallory", path.as_uri(), AT)
    [signal] = handler.score(model, [ClipInput(event, sample_frames(path, MediaLimits()))])
    assert signal.ok and signal.model == "insightface" and signal.features["backend"] == "insightface"
    assert len(signal.features["people"][0]["embedding"]) == 512
