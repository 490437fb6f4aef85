"""Provenance on real C2PA manifests: clips signed by a throwaway generator CA, read by the
provenance family and `clipguard scan`, and decisions signed into copies and checked with
`clipguard verify` (c2pa does every signature, chain and hash check)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml

from classifiers.provenance.manifests import read_manifest
from classifiers.provenance.signing import SigningKey
from classifiers.provenance.trust import fingerprint
from clipguard.app.demo import start_gate
from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated
from fixtures.provenance import Authority, sign_as_generator, write_signing_files
from pipelines.kafka_io import read_decisions
from registry.db import engine_for
from registry.review import AuditLog
from tests.conftest import clipguard
from tests.gate_helpers import await_committed, publish, running_broker, sqlite_settings
from usecases.signing import sign_decision

NOW = "2026-12-03T10:00:00Z"

DECISION = {"clip_id": "clip-1", "verdict": "allow", "policy_version": "default@test",
            "models": {"c2pa": "0.38.1", "open_nsfw": "1"}, "decided_at": "2026-12-03T10:00:00Z"}


@dataclass(frozen=True)
class Clips:
    generator: Authority
    signed: Path        # as the generator wrote it
    tampered: Path      # the same, one byte of its video changed
    unsigned: Path      # the same picture, no manifest
    remix: Path         # signed, naming clip "parent-1" as its parent


@pytest.fixture(scope="module")
def clips(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.mktemp("provenance")
    generator = Authority.create("Example Generator CA")
    key = generator.issue("example video generator")
    unsigned = shutil.copy(clips_dir / "coffee-pan.mp4", folder / "unsigned.mp4")
    signed = sign_as_generator(unsigned, folder / "signed.mp4", key)
    remix = sign_as_generator(unsigned, folder / "remix.mp4", key, parent_id="parent-1")
    tampered = folder / "tampered.mp4"
    tampered.write_bytes(_flip_video_byte(signed.read_bytes()))
    return Clips(generator, signed, tampered, Path(unsigned), remix)


def _flip_video_byte(data: bytes) -> bytes:
    at = data.index(b"mdat") + 4096
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def test_a_clip_signed_by_the_generator_is_valid_and_trusted_by_its_ca(clips: Clips):
    report = read_manifest(clips.signed, [clips.generator.pem])
    assert report.state == "valid"
    assert report.trusted_by == (fingerprint(clips.generator.pem),)
    assert report.signer["subject"] == "CN=example video generator, O=clipguard test PKI"
    assert report.signer["issuer"] == "CN=Example Generator CA, O=clipguard test PKI"
    assert report.claim_generator == "fixture-generator 1.0"
    assert report.actions == ("c2pa.created",)


def test_another_ca_validates_the_signature_but_does_not_trust_it(clips: Clips):
    other = Authority.create("Someone Else CA")
    report = read_manifest(clips.signed, [other.pem])
    assert report.state == "valid" and report.trusted_by == ()
    both = read_manifest(clips.signed, [other.pem, clips.generator.pem])
    assert both.trusted_by == (fingerprint(clips.generator.pem),)     # named, among several anchors


def test_the_same_clip_with_its_bytes_changed_is_tampered(clips: Clips):
    report = read_manifest(clips.tampered, [clips.generator.pem])
    assert report.state == "tampered" and report.trusted_by == ()
    assert "assertion.bmffHash.mismatch" in {f["code"] for f in report.failures}


def test_a_clip_with_no_manifest_is_absent(clips: Clips):
    assert read_manifest(clips.unsigned, [clips.generator.pem]).state == "absent"


def test_a_remix_manifest_names_its_parent_clip(clips: Clips):
    report = read_manifest(clips.remix, [clips.generator.pem])
    assert report.ingredients == ({"title": "parent-1", "relationship": "parentOf", "manifest": None},)


@dataclass(frozen=True)
class Moderator:
    """This deployment's signing files, as an operator configures them, and its CA for verify."""

    key: Path
    certs: Path
    ca: Path


@pytest.fixture(scope="module")
def moderator(tmp_path_factory: pytest.TempPathFactory) -> Moderator:
    ca = Authority.create("clipguard Moderation CA")
    folder = tmp_path_factory.mktemp("keys")
    key_path, certs_path = write_signing_files(ca.issue("clipguard gate"), folder, "gate")
    (folder / "ca.pem").write_text(ca.pem)
    return Moderator(key_path, certs_path, folder / "ca.pem")


@pytest.mark.parametrize("source", ["signed", "unsigned"])
def test_a_signed_decision_verifies_and_fails_once_its_verdict_bytes_are_edited(
        source: str, clips: Clips, moderator: Moderator, settings: Settings, tmp_path: Path):
    key = SigningKey.from_files(moderator.key, moderator.certs)
    copy = sign_decision(DECISION, getattr(clips, source), tmp_path / "signed", key)
    trust = ["--trust", str(moderator.ca)]
    verified = clipguard(["verify", str(copy), *trust], settings, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "decision: allow for clip clip-1 under default@test" in verified.stdout
    assert "validates: yes" in verified.stdout
    report = json.loads(clipguard(["verify", str(copy), *trust, "--json"], settings, timeout=60).stdout)
    assert report["moderation"] == DECISION
    # The clip's own manifest is the decision's ingredient (an update of it); an unsigned clip is
    # the parent file of an edit.
    assert [i["relationship"] for i in report["ingredients"]] == ["parentOf"]
    assert bool(report["ingredients"][0]["manifest"]) == (source == "signed")

    data = copy.read_bytes()
    assert data.count(b"allow") == 1, "the verdict is not in the file as plain bytes once"
    edited = tmp_path / "edited.mp4"
    edited.write_bytes(data.replace(b"allow", b"block", 1))
    refused = clipguard(["verify", str(edited), *trust], settings, timeout=60)
    assert refused.returncode == 1
    assert "assertion.hashedURI.mismatch" in refused.stdout and "validates: no" in refused.stdout

    untrusted = clipguard(["verify", str(copy), "--trust", _pem(tmp_path, Authority.create("Stranger CA"))],
                          settings, timeout=60)
    assert untrusted.returncode == 1 and "not a signer this policy trusts" in untrusted.stdout


def _pem(folder: Path, ca: Authority) -> str:
    path = folder / f"{ca.name.replace(' ', '-')}.pem"
    path.write_text(ca.pem)
    return str(path)


def test_scan_reviews_a_declared_generated_clip_without_a_trusted_manifest(clips: Clips, settings: Settings,
                                                                           tmp_path: Path):
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(_trusting(clips.generator))
    files = [clips.signed, clips.tampered, clips.unsigned]
    args = ["scan", *map(str, files), "--creator", "alice", "--policy", str(policy_path), "--json"]

    declared = _by_file(clipguard([*args, "--attr", "generator=example"], settings, timeout=180))
    assert declared["signed.mp4"]["verdict"] == "allow"
    reason = _provenance(declared["signed.mp4"])
    assert "trusted as example-generator" in reason["detail"]
    for name, says in (("tampered.mp4", "hard binding fails"), ("unsigned.mp4", "no C2PA manifest")):
        assert declared[name]["verdict"] == "review", declared[name]
        reason = _provenance(declared[name])
        assert says in reason["detail"] and "came from the generator" in reason["detail"]
        assert declared[name]["reasons"][0]["signal"] == "provenance"     # the reason for the review

    undeclared = _by_file(clipguard(args, settings, timeout=180))
    assert {name: d["verdict"] for name, d in undeclared.items()} == {
        "signed.mp4": "allow", "tampered.mp4": "allow", "unsigned.mp4": "allow"}


def _by_file(result) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr[-2000:]
    return {Path(d["source_path"]).name: d for d in map(json.loads, result.stdout.splitlines())}


def _provenance(decision: dict) -> dict:
    return next(r for r in decision["reasons"] if r["signal"] == "provenance")


def test_the_gate_checks_remix_parents_and_signs_allowed_decisions(clips: Clips, moderator: Moderator,
                                                                   tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(_trusting(clips.generator))
    events = [ClipGenerated("gen-ok", "alice", clips.signed.as_uri(), NOW, attrs={"generator": "example"}),
              ClipGenerated("gen-remix", "alice", clips.remix.as_uri(), NOW, remix_of="someone-else",
                            attrs={"generator": "example"}),
              ClipGenerated("upload", "alice", clips.unsigned.as_uri(), NOW)]
    with running_broker("tansu", tmp_path / "broker") as address:
        s = replace(sqlite_settings(tmp_path, address, clips.signed.parent), signing_key=moderator.key,
                    signing_certs=moderator.certs, signed_root=tmp_path / "signed")
        publish(address, [e.to_json() for e in events])
        gate = start_gate(s, "--policy", str(policy), "--sign-decisions", log=tmp_path / "gate.log")
        try:
            decided = read_decisions(address, {e.clip_id for e in events}, timeout_s=180)
            await_committed(address, len(events))
        finally:
            gate.terminate()
            gate.wait(timeout=30)
    assert decided["gen-ok"]["verdict"] == "allow"
    assert decided["upload"]["verdict"] == "allow"
    remix = decided["gen-remix"]
    assert remix["verdict"] == "review" and remix["reasons"][0]["signal"] == "provenance"
    assert "names parent clip 'parent-1', its event remix_of 'someone-else'" in remix["reasons"][0]["detail"]

    # Only allowed clips are signed by the gate; each copy carries its own decision.
    assert sorted(p.name for p in (tmp_path / "signed").iterdir()) == ["gen-ok.mp4", "upload.mp4"]
    trust = ["--trust", str(moderator.ca)]
    for clip_id in ("gen-ok", "upload"):
        checked = json.loads(clipguard(["verify", str(tmp_path / "signed" / f"{clip_id}.mp4"), *trust, "--json"],
                                       s, timeout=60).stdout)
        assert checked["validates"] and checked["moderation"]["clip_id"] == clip_id
        assert checked["moderation"]["verdict"] == "allow"
        assert checked["moderation"]["policy_version"] == decided[clip_id]["policy_version"]
        assert checked["moderation"]["models"] == decided[clip_id]["models"]

    # Any decision can be signed on demand, by its history entry.
    entry = AuditLog(engine_for(s.database_url)).decision_history("gen-remix")[0]["entry_id"]
    signed = clipguard(["sign", "gen-remix", "--decision", str(entry)], s, timeout=60)
    assert signed.returncode == 0, signed.stderr
    checked = clipguard(["verify", signed.stdout.strip(), *trust], s, timeout=60)
    assert checked.returncode == 0 and "decision: review for clip gen-remix" in checked.stdout
    for args, says in ((["sign", "nobody"], "no decision for clip 'nobody'"),
                       (["sign", "gen-remix", "--decision", "999"], f"no decision entry 999 (its entries: {entry})")):
        refused = clipguard(args, s, timeout=60)
        assert refused.returncode == 2 and says in refused.stderr


def test_signing_without_a_configured_key_is_refused_before_the_gate_starts(settings: Settings):
    result = clipguard(["gate", "--sign-decisions", "--idle-exit", "1"], settings, timeout=60)
    assert result.returncode == 2
    assert "signing needs CLIPGUARD_SIGNING_KEY and CLIPGUARD_SIGNING_CERTS" in result.stderr


def _trusting(generator: Authority) -> str:
    policy = yaml.safe_load(resources.files("policies").joinpath("default.yaml").read_text())
    policy["version"] = "provenance-test"
    policy["signals"]["provenance"]["trusted_signers"] = [{"name": "example-generator",
                                                          "certificate": generator.pem}]
    return yaml.safe_dump(policy)


def test_a_garbled_manifest_is_reported_never_raised(clips: Clips, tmp_path: Path):
    """Bytes changed across the manifest store itself (the JUMBF box c2pa writes near the start):
    each read says what it found, and none says the garbled clip is trusted."""
    data = clips.signed.read_bytes()
    store = data.index(b"jumb")
    rng = np.random.default_rng(19)
    states = set()
    for i, at in enumerate(rng.integers(store, store + 6000, size=24)):
        garbled = tmp_path / f"garbled-{i}.mp4"
        garbled.write_bytes(data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:])
        report = read_manifest(garbled, [clips.generator.pem])
        assert report.state in {"absent", "valid", "invalid", "tampered"}
        states.add(report.state)
        if report.state == "valid":     # a byte c2pa does not sign (padding): nothing was changed that counts
            continue
        assert report.trusted_by == ()
    assert states & {"invalid", "tampered"}, f"no garbling was noticed: {states}"
