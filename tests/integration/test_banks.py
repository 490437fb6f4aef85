"""Hash banks on real clips, with hashes made by python-threatexchange's own `threatexchange hash`
command and Meta's vpdq: only benign fixtures, whose hashes stand in for a bank's listed content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import av
import pytest
import vpdq
from PIL import Image
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json

from classifiers.bank.handler import vpdq_feature
from classifiers.hamming import distance
from clipguard.app.demo import start_gate
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated
from fixtures.clips import write_frames
from media.sampling import sample_frames
from pipelines.kafka_io import read_decisions
from tests.conftest import clipguard
from tests.gate_helpers import await_committed, publish, running_broker, sqlite_settings

NOW = "2026-12-03T12:00:00Z"


@dataclass(frozen=True)
class Media:
    listed: Path       # the clip whose hashes go into the bank
    reencoded: Path    # the same clip re-encoded smaller at a lower bitrate
    unrelated: Path


@pytest.fixture(scope="module")
def media(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Media:
    folder = tmp_path_factory.mktemp("banks")
    listed = clips_dir / "space-montage.mp4"
    with av.open(str(listed)) as container:
        frames = [f.to_ndarray(format="rgb24", width=480, height=270) for f in container.decode(video=0)]
    reencoded = write_frames(folder / "reencoded.mp4", frames, fps=24, size=(480, 270), crf=35)
    return Media(listed, reencoded, clips_dir / "rocket-launch.mp4")


def threatexchange_hash(content_type: str, files: list[Path], home: Path) -> list[str]:
    """What `threatexchange hash` prints: one `<signal type> <hash>` line per signal."""
    done = subprocess.run([sys.executable, "-m", "threatexchange", "hash", content_type, *map(str, files)],
                          env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def frame_pngs(clip: Path, folder: Path) -> list[Path]:
    """One frame a second of `clip`, as PNG files, the way an outside party would extract them."""
    folder.mkdir(parents=True, exist_ok=True)
    out, next_t = [], 0.0
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            if frame.time >= next_t:
                path = folder / f"{len(out)}.png"
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(path)
                out.append(path)
                next_t += 1.0
    return out


def scan(settings: Settings, files: list[Path]) -> dict[str, dict]:
    done = clipguard(["scan", *map(str, files), "--creator", "alice", "--json"], settings)
    assert done.returncode == 0, done.stderr
    return {Path(d["source_path"]).name: d for d in map(json.loads, done.stdout.splitlines())}


def bank_reasons(decision: dict) -> list[dict]:
    return [r for r in decision["reasons"] if r["signal"] == "bank"]


def test_pdq_and_md5_from_threatexchange_hash_block_the_clip_and_its_reencode(media: Media, settings: Settings,
                                                                               tmp_path: Path):
    lines = threatexchange_hash("photo", frame_pngs(media.listed, tmp_path / "frames"), tmp_path)
    lines += threatexchange_hash("video", [media.listed], tmp_path)
    assert sorted(line.split()[0] for line in lines[-2:]) == ["video_md5", "video_sha256"]
    assert all(line.startswith("pdq ") for line in lines[:-2])
    hashes = tmp_path / "hashes.txt"
    hashes.write_text("\n".join(lines) + "\n")

    assert clipguard(["banks", "add", "known", "--owner", "a clearinghouse", "--action", "block", "--report"],
                     settings).returncode == 0
    done = clipguard(["banks", "import", str(hashes), "--bank", "known"], settings)
    assert done.returncode == 0, done.stderr
    assert f"imported {len(lines)} entries" in done.stderr

    decided = scan(settings, [media.listed, media.reencoded, media.unrelated])
    listed, reencoded, unrelated = (decided[p.name] for p in (media.listed, media.reencoded, media.unrelated))
    assert listed["verdict"] == "block" and reencoded["verdict"] == "block", (listed, reencoded)
    assert unrelated["verdict"] == "allow" and not bank_reasons(unrelated)
    assert {r["evidence"]["signal_type"] for r in bank_reasons(listed)} == {"md5", "sha256", "pdq"}
    assert {r["evidence"]["signal_type"] for r in bank_reasons(reencoded)} == {"pdq"}   # a new file's hashes differ
    for reason in bank_reasons(listed) + bank_reasons(reencoded):
        evidence = reason["evidence"]
        assert evidence["bank"] == "known" and "thumbnail" not in evidence
        assert evidence["signal_type"] != "pdq" or evidence["distance"] <= 31

    matches = [json.loads(x) for x in clipguard(["banks", "matches", "--bank", "known"], settings).stdout.split("\n")
               if x]
    assert {m["clip_id"] for m in matches} == {listed["clip_id"], reencoded["clip_id"]}
    reports = [json.loads(x) for x in clipguard(["banks", "reports"], settings).stdout.splitlines()]
    assert {r["match_id"] for r in reports} == {m["match_id"] for m in matches}

    # Exported, the bank reads back through threatexchange's own file exchange, entry for entry.
    exported = tmp_path / "export.txt"
    assert clipguard(["banks", "export", "--bank", "known", "--output", str(exported)], settings).returncode == 0
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="export", filename=str(exported)))
    (delta,) = api.fetch_iter([], None)
    assert set(delta.updates) == {tuple(line.split(" ", 1)) for line in lines}

    # Disabled, the bank matches nothing.
    assert clipguard(["banks", "disable", "known"], settings).returncode == 0
    assert scan(settings, [media.listed])[media.listed.name]["verdict"] == "allow"


def test_a_vpdq_entry_from_the_vpdq_package_blocks_a_reencoded_copy(media: Media, settings: Settings,
                                                                    tmp_path: Path):
    features = [VpdqCompactFeature.from_vpdq_feature(f) for f in vpdq.computeHash(str(media.listed))]
    (tmp_path / "vpdq.txt").write_text(f"vpdq {vpdq_to_json(features)}\n")
    assert clipguard(["banks", "add", "videos", "--owner", "partner", "--action", "takedown"],
                     settings).returncode == 0
    assert clipguard(["banks", "import", str(tmp_path / "vpdq.txt"), "--bank", "videos"], settings).returncode == 0

    decided = scan(settings, [media.reencoded, media.unrelated])
    reencoded = decided[media.reencoded.name]
    assert reencoded["verdict"] == "takedown"
    (reason,) = [r for r in bank_reasons(reencoded) if r["evidence"]["signal_type"] == "vpdq"]
    assert reason["evidence"]["query_match_percent"] >= 80
    assert decided[media.unrelated.name]["verdict"] == "allow"


def test_the_gates_frame_hashes_agree_with_vpdq_on_the_same_file(media: Media):
    """The bank family hashes the gate's own sampled frames; vpdq decodes the file itself."""
    theirs = {round(f.timestamp): f.hex for f in vpdq.computeHash(str(media.listed))}
    clip = sample_frames(media.listed, MediaLimits())
    ours = [(f.t, vpdq_feature(f).pdq_hex) for f in clip.frames if not f.cut]
    gaps = [distance(h, theirs[round(t)]) for t, h in ours if round(t) in theirs]
    assert len(gaps) >= 4 and max(gaps) <= 20, gaps


def test_a_file_with_bad_lines_imports_nothing_and_names_each_line(settings: Settings, tmp_path: Path):
    good = "pdq " + "ab" * 32
    (tmp_path / "bad.txt").write_text(f"{good}\npdq nothex\n\nsha1 {'0' * 40}\nvideo_md5 {'1' * 32}\n")
    assert clipguard(["banks", "add", "partial", "--owner", "x"], settings).returncode == 0
    done = clipguard(["banks", "import", str(tmp_path / "bad.txt"), "--bank", "partial"], settings)
    assert done.returncode == 2
    assert "2 of 4 lines are not bank entries, so nothing was imported" in done.stderr
    assert "line 2: not a valid pdq signal" in done.stderr and "line 4: unknown signal type 'sha1'" in done.stderr
    listed = json.loads(clipguard(["banks", "list", "--json"], settings).stdout)
    assert listed["entries"] == 0
    unknown = clipguard(["banks", "import", str(tmp_path / "bad.txt"), "--bank", "nope"], settings)
    assert unknown.returncode == 2 and "no bank 'nope'" in unknown.stderr


def test_the_gate_applies_a_new_entry_without_a_restart_and_retroscan_takes_down_published_copies(
        media: Media, tmp_path: Path):
    first = ClipGenerated("before", "alice", media.listed.as_uri(), NOW)
    later = ClipGenerated("after", "alice", media.reencoded.as_uri(), NOW)
    with running_broker("tansu", tmp_path / "broker") as address:
        s = replace(sqlite_settings(tmp_path, address, media.listed.parent),
                    media_roots=(media.listed.parent, media.reencoded.parent))
        assert clipguard(["banks", "add", "live", "--owner", "x", "--action", "block"], s).returncode == 0
        publish(address, [first.to_json()])
        gate = start_gate(s, log=tmp_path / "gate.log")
        try:
            assert read_decisions(address, {"before"}, timeout_s=180)["before"]["verdict"] == "allow"
            await_committed(address, 1)
            hashes = tmp_path / "h.txt"
            hashes.write_text("\n".join(threatexchange_hash("video", [media.listed], tmp_path)) + "\n")
            # Importing into a blocking bank retroscans what was published: the allowed clip comes down.
            done = clipguard(["banks", "import", str(hashes), "--bank", "live"], s)
            assert done.returncode == 0, done.stderr
            assert done.stdout.split() == ["before"]
            (tmp_path / "p.txt").write_text("\n".join(threatexchange_hash(
                "photo", frame_pngs(media.listed, tmp_path / "frames"), tmp_path)) + "\n")
            assert clipguard(["banks", "import", str(tmp_path / "p.txt"), "--bank", "live"], s).returncode == 0
            publish(address, [later.to_json()])
            after = read_decisions(address, {"after"}, timeout_s=120)["after"]
        finally:
            gate.terminate()
            gate.wait(timeout=30)
    assert after["verdict"] == "block" and bank_reasons(after)
