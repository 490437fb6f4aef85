"""The public CLI, driven as users drive it: `clipguard scan`, `clipguard demo`, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

from clipguard.core.config import Settings
from registry.db import engine_for
from registry.store import DecisionStore
from tests.conftest import DemoRun, clipguard


def test_scan_prints_one_decision_per_file_in_argument_order(settings: Settings, clips_dir: Path):
    files = [clips_dir / n for n in ("coffee-pan.mp4", "corrupt.mp4", "zero-frames.mp4")]
    result = clipguard(["scan", *map(str, files), "--creator", "alice", "--json"], settings, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["clip_id"] for d in lines] == ["coffee-pan", "corrupt", "zero-frames"]
    assert [d["verdict"] for d in lines] == ["allow", "review", "review"]
    assert all(d["schema"] == "moderation.decision/1" for d in lines)
    # Every decoded clip names both models and carries its explicit score, even when allowed.
    decoded = lines[0]
    assert {"pdq+phash+orb+alias", "open_nsfw"} <= set(decoded["models"])
    explicit = [r for r in decoded["reasons"] if r["signal"] == "explicit"]
    assert len(explicit) == 1 and 0 <= explicit[0]["evidence"]["score_max"] < 0.2


def test_scan_accepts_files_outside_the_media_roots(settings: Settings, clips_dir: Path, tmp_path: Path):
    outside = tmp_path / "my clips, été" / "holiday.mp4"  # a folder name that URIs percent-encode
    outside.parent.mkdir()
    outside.write_bytes((clips_dir / "rocket-launch.mp4").read_bytes())
    result = clipguard(["scan", str(outside), "--creator", "alice", "--json"], settings, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "allow"


def test_scan_decides_a_folder_of_odd_names_and_refuses_only_its_bad_file(settings: Settings, clips_dir: Path,
                                                                          tmp_path: Path):
    folder = tmp_path / "from a phone"
    (folder / "older").mkdir(parents=True)
    names = ["obama+biden__1.mp4", "My clip (1).mp4", "été.mov", "a b.mp4", "a+b.mp4", "older/été.mov"]
    for name in names:
        (folder / name).write_bytes((clips_dir / "rocket-launch.mp4").read_bytes())
    (folder / "corrupt.mp4").write_bytes((clips_dir / "corrupt.mp4").read_bytes())
    (folder / "noise.mp4").write_bytes(bytes(range(256)) * 64)

    result = clipguard(["scan", str(folder), "--recursive", "--creator", "alice", "--json"], settings, timeout=180)

    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 8
    refused = [line for line in lines if "error" in line]
    assert refused == [{"path": str(folder / "noise.mp4"), "error": {
        "code": "media_not_video", "message": "noise.mp4 is not a video: its first bytes match no video container"}}]
    decided = {Path(d["source_path"]).relative_to(folder).as_posix(): d for d in lines if "error" not in d}
    assert set(decided) == {*names, "corrupt.mp4"}
    assert decided["corrupt.mp4"]["verdict"] == "review" and decided["corrupt.mp4"]["clip_id"] == "corrupt"
    assert {decided[n]["verdict"] for n in names} == {"allow"}
    ids = [d["clip_id"] for d in decided.values()]
    assert len(set(ids)) == len(ids) and decided["obama+biden__1.mp4"]["clip_id"].startswith("obama-biden__1-")
    assert "scan: 7/7 decided, 1 refused" in result.stderr.splitlines()


def test_scan_reads_paths_from_stdin_and_exits_0_when_every_file_is_decided(settings: Settings, clips_dir: Path):
    paths = f"{clips_dir / 'coffee-pan.mp4'}\n\n{clips_dir / 'rocket-launch.mp4'}\n"
    result = clipguard(["scan", "-", "--creator", "alice"], settings, input=paths, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [("coffee-pan", "allow", str(clips_dir / "coffee-pan.mp4")),
                                                  ("rocket-launch", "allow", str(clips_dir / "rocket-launch.mp4"))]


def test_scan_refuses_a_missing_file_on_its_own_line_and_usage_errors_exit_2(settings: Settings, clips_dir: Path,
                                                                             tmp_path: Path):
    missing = clipguard(["scan", str(tmp_path / "nope.mp4"), "--creator", "alice"], settings, timeout=60)
    assert missing.returncode == 1, missing.stderr
    assert missing.stdout == f"{tmp_path / 'nope.mp4'}\trefused\tnope.mp4 does not exist (media_missing)\n"
    usage = {
        ("scan", str(clips_dir / "coffee-pan.mp4"), "--creator", "bad creator"): "--creator must be",
        ("scan", str(clips_dir / "coffee-pan.mp4"), "--creator", "alice", "--clip-id-from", "path"): "'path' is not",
        ("scan", "-", "--creator", "alice"): "no paths to scan",
    }
    for args, complaint in usage.items():
        result = clipguard(list(args), settings, input="", timeout=60)
        assert result.returncode == 2, result
        assert complaint in result.stderr, result.stderr
        assert result.stdout == ""


def test_the_demo_decides_every_fixture_clip_and_writes_a_report(demo_run: DemoRun):
    result, home = demo_run.result, demo_run.settings.home
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:] if line.split()}
    assert rows["cat-character"] == rows["cat-cutin"] == "block"
    assert rows["coffee-pan"] == rows["rocket-launch"] == rows["space-montage"] == "allow"
    assert rows["corrupt"] == rows["zero-frames"] == "review"
    assert rows["figure-likeness"] == "block" and "public figure 'Grace Hopper'" in result.stdout
    retina = DecisionStore(engine_for(demo_run.settings.database_url)).get("retina-teen")
    assert retina["verdict"] == "review"
    assert any(r["signal"] == "explicit" and "audience teen" in r["detail"] for r in retina["reasons"])
    assert result.stdout.count("(dead letter)") == 4
    report = (home / "report.html").read_text()
    assert "cat-cutin" in report and report.count("data:image/jpeg") > 20
    assert "decided 10/10 clips" in result.stderr
    assert "3 clip(s) wait in the review queue" in result.stderr


def test_the_demo_refuses_a_busy_port(tmp_path: Path, bootstrap: str):
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'db'}", kafka_bootstrap=bootstrap,
                        media_roots=(home / "media",))
    result = clipguard(["demo"], settings, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("clipguard: error: ")
    assert "already in use" in result.stderr


def test_the_gate_refuses_a_busy_metrics_port(settings: Settings):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = clipguard(["gate", "--metrics-port", str(port)], settings, timeout=60)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("clipguard: error: cannot serve metrics") and "--metrics-port" in last
