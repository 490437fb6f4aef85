"""The console in real headless Chromium (Debian's, driven by Playwright), against a real
`clipguard serve` process, a real broker and PostgreSQL: an analyst's whole round trip.

Screenshots land in $CLIPGUARD_SCREENSHOTS (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from classifiers.character.handler import hash_frame
from clipguard.app.broker import free_port
from clipguard.core.config import Settings
from clipguard.core.contracts import Decision, Reason
from fixtures.audio import write_clip_with_audio
from fixtures.clips import image
from media.sampling import thumbnail_jpeg
from pipelines.kafka_io import read_decisions
from registry.claims import ClaimStore, NewReference
from registry.db import migrate
from registry.store import DecisionStore
from tests.builders import AT, decided
from tests.conftest import DemoRun, clipguard

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


def seed_review(settings: Settings) -> None:
    """A clip the gate sent to review: a frame close to, not within, a claimed reference."""
    engine = migrate(settings.database_url)
    cat = image("chelsea")
    ref = hash_frame(cat)
    claims = ClaimStore(engine)
    claim_id = claims.add("studio", "Chelsea the Cat", "block",
                          [NewReference("skimage chelsea", ref.pdq, ref.phash, thumbnail_jpeg(cat))])
    reference = claims.active_references()[0]
    reason = Reason("default@1/character.pdq", "character",
                    "frame 1 is close to claim 'Chelsea the Cat' (pdq)", 0.85,
                    {"claim_id": claim_id, "reference_id": reference.reference_id, "title": "Chelsea the Cat",
                     "action": "block", "method": "pdq", "distance": 38, "frame": 1, "t": 0.0})
    review = Decision("cat-remix", "review", (reason,), "default@2026.11.21-1", {"open_nsfw": "1.1.0"}, AT, 900.0)
    DecisionStore(engine).record([decided(review, creator_id="dana", with_frames=True,
                                          prompt="a ginger cat in a spacesuit")])


@contextmanager
def serving(settings: Settings, log: Path) -> Iterator[str]:
    """A real `clipguard serve` process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "clipguard", "serve", "--port", str(port)], env=settings.to_env(),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"clipguard serve exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"clipguard serve did not listen on {port} within {timeout_s} s")


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        yield page
        browser.close()


def shot(page: Page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("CLIPGUARD_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/console")
    expect(page).to_have_url(f"{base}/login?next=/console")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Review queue overview")


def log_out(page: Page, base: str) -> None:
    page.click("#logout")
    expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/console/queue")
    expect(page).to_have_url(f"{base}/login?next=/console/queue")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_analyst_claims_inspects_and_blocks_a_clip(settings: Settings, bootstrap: str, page: Page,
                                                      tmp_path: Path):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    seed_review(settings)
    added = clipguard(["users", "add", "ana", "--role", "analyst", "--password-stdin"], settings,
                      input=PASSWORD + "\n", timeout=60)
    assert added.returncode == 0, added.stderr
    with serving(settings, tmp_path / "serve.log") as base:
        log_in(page, base, "ana", PASSWORD)
        claim_inspect_and_block(page, base, settings, tmp_path)
        log_out(page, base)


def claim_inspect_and_block(page: Page, base: str, settings: Settings, tmp_path: Path) -> None:
    expect(page.locator("#depth-review b")).to_have_text("1")
    shot(page, "1-overview", tmp_path)

    page.click("header >> text=Queue")
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    expect(page.locator("#queue")).to_contain_text("cat-remix")
    shot(page, "2-queue", tmp_path)

    page.click("#claim-next")
    expect(page.locator("#item-status")).to_have_text("claimed")
    expect(page.locator("#creator")).to_have_text("dana")
    expect(page.locator("#prompt")).to_have_text("a ginger cat in a spacesuit")
    expect(page.locator("#reasons")).to_contain_text("close to claim 'Chelsea the Cat'")
    expect(page.locator("#scores")).to_contain_text("match <= 31, review <= 45")
    page.wait_for_load_state("networkidle")
    widths = page.eval_on_selector_all("main img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 4 and all(w > 0 for w in widths)   # two frames, the matched pair: all decoded
    expect(page.locator(".flagged .box")).to_contain_text("Chelsea the Cat")
    shot(page, "3-item", tmp_path)

    # The keyboard path: b picks block and moves to the note, Ctrl+Enter records.
    page.keyboard.press("b")
    expect(page.locator("#action-block")).to_be_checked()
    page.keyboard.type("the cat is the claimed character, recoloured")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#done")).to_have_text("Recorded: block.")
    expect(page.locator("#history")).to_contain_text("analyst")
    shot(page, "4-decided", tmp_path)

    on_kafka = read_decisions(settings.kafka_bootstrap, {"cat-remix"}, timeout_s=30)["cat-remix"]
    assert (on_kafka["verdict"], on_kafka["source"]) == ("block", "analyst")
    assert on_kafka["reasons"][0]["detail"] == "the cat is the claimed character, recoloured"

    page.click("header >> text=Audit")
    page.fill("input[name=actor]", "ana")
    page.click("text=Search")
    row = page.locator("#audit tbody tr", has_text="the cat is the claimed character")
    expect(row).to_contain_text("block")
    expect(row).to_contain_text("'verdict': 'review'")
    shot(page, "5-audit", tmp_path)


def test_an_analyst_sees_and_hears_the_stretch_a_voice_reason_matched(settings: Settings, page: Page,
                                                                      tmp_path: Path):
    media = tmp_path / "media"
    settings = replace(settings, media_roots=(media,))
    talk = (0.1 * np.random.default_rng(2).standard_normal(6 * 16_000)).astype(np.float32)
    clip = write_clip_with_audio(media / "voice-clip.mp4", np.full((120, 160, 3), 80, np.uint8), talk)
    reason = Reason("default@1/likeness", "likeness", "1.0-3.5 s: a voice is close to public figure 'Ada'", 0.5,
                    {"kind": "figure", "subject_id": "f1", "name": "Ada", "distance": 0.78, "speaker": 0,
                     "clip_range": [1.0, 3.5], "seconds": 2.4, "family": "voice", "model": "ge2e-resemblyzer",
                     "creator_permitted": False})
    stored = decided(Decision("voice-clip", "review", (reason,), "default@1", {"ge2e-resemblyzer": "v"}, AT, 900.0))
    DecisionStore(migrate(settings.database_url)).record([replace(stored, event={**stored.event,
                                                                                  "media_uri": clip.as_uri()})])
    added = clipguard(["users", "add", "ana", "--role", "analyst", "--password-stdin"], settings,
                      input=PASSWORD + "\n", timeout=60)
    assert added.returncode == 0, added.stderr
    with serving(settings, tmp_path / "serve.log") as base:
        log_in(page, base, "ana", PASSWORD)
        page.click("header >> text=Queue")
        page.click("#claim-next")
        expect(page.locator(".sound figcaption")).to_contain_text("Ada's voice")
        page.wait_for_load_state("networkidle")
        assert page.eval_on_selector(".sound img", "img => img.naturalWidth") > 0
        seconds = page.eval_on_selector(".sound audio", """audio => new Promise(done => {
            audio.addEventListener("loadedmetadata", () => done(audio.duration)); audio.load(); })""")
        assert abs(seconds - 2.5) < 0.05     # the matched stretch, not the whole soundtrack
        shot(page, "voice-item", tmp_path)


def test_the_queue_that_the_demo_filled(demo_run: DemoRun, bootstrap: str, page: Page, tmp_path: Path):
    """The fresh-clone path: `clipguard demo`, then its analyst account works its review queue."""
    assert demo_run.result.returncode == 0, demo_run.result.stderr[-2000:]
    # A copy of what the demo left, so other tests see it untouched; the demo's broker kept nothing.
    home = tmp_path / "home"
    shutil.copytree(demo_run.settings.home, home, ignore=shutil.ignore_patterns("media"))
    settings = replace(demo_run.settings, home=home, database_url=f"sqlite:///{home / 'clipguard.db'}",
                       kafka_bootstrap=bootstrap)
    name, password = (settings.home / "demo-analyst.txt").read_text().split()
    with serving(settings, tmp_path / "serve.log") as base:
        log_in(page, base, name, password)
        page.click("header >> text=Queue")
        expect(page.locator("#queue tbody tr")).to_have_count(3)
        page.click("#claim-next")
        # Explicit content outranks unreadable media, so the teen clip comes first.
        expect(page.locator("h1")).to_contain_text("retina-teen")
        expect(page.locator("#scores")).to_contain_text("review >= 0.1")
        page.wait_for_load_state("networkidle")
        widths = page.eval_on_selector_all("#frames img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and all(w > 0 for w in widths)
        expect(page.locator(".flagged figcaption")).to_contain_text("explicit 0.")
        shot(page, "demo-item", tmp_path)
        page.check("#action-allow")
        page.fill("#note", "a retina photograph: medical, not explicit")
        page.click("#submit-action")
        expect(page.locator("#done")).to_have_text("Recorded: allow.")
        on_kafka = read_decisions(bootstrap, {"retina-teen"}, timeout_s=30)["retina-teen"]
        assert (on_kafka["verdict"], on_kafka["source"]) == ("allow", "analyst")
        log_out(page, base)
