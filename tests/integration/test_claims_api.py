"""`/v1/claims` through the real app: holders see only their own claims, bad media is refused
whole, and a takedown claim filed through the API takes down a published copy on its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from classifiers.character.handler import hash_frame
from clipguard.core.config import Settings
from fixtures.clips import image, png_file
from fixtures.edits import EDITS
from pipelines.kafka_io import read_decisions
from registry.store import DecisionStore
from service.app import create_app
from tests.builders import decided, decision


@pytest.fixture
def api(settings: Settings, bootstrap: str) -> Iterator[tuple[TestClient, dict[str, dict], Settings]]:
    settings = replace(settings, kafka_bootstrap=bootstrap)
    app = create_app(settings)
    accounts = app.state.services.accounts
    headers = {}
    for name, role in (("studio-a", "rights_holder"), ("studio-b", "rights_holder"), ("ana", "analyst")):
        accounts.add(name, role)
        headers[name] = {"Authorization": f"Bearer {accounts.issue_token(name)}"}
    with TestClient(app) as client:
        yield client, headers, settings


def cat_upload(name: str = "cat.png") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("reference", (name, png_file(name, "chelsea").data, "image/png"))]


def test_holders_see_and_change_only_their_own_claims(api):
    client, headers, _ = api
    filed = client.post("/v1/claims", headers=headers["studio-a"], files=cat_upload(),
                        data={"title": "Chelsea", "alias": ["Chelsea le chat@fr"], "action": "block"})
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    assert claim["holder_id"] == "studio-a" and claim["aliases"] == [{"text": "Chelsea le chat", "lang": "fr"}]
    assert claim["references"][0]["orb"] and claim["references"][0]["media_kind"] == "image"
    claim_id = claim["claim_id"]
    assert [c["claim_id"] for c in client.get("/v1/claims", headers=headers["studio-a"]).json()] == [claim_id]
    assert client.get("/v1/claims", headers=headers["studio-b"]).json() == []
    for method, path in (("GET", f"/v1/claims/{claim_id}"), ("GET", f"/v1/claims/{claim_id}/matches"),
                         ("DELETE", f"/v1/claims/{claim_id}")):
        other = client.request(method, path, headers=headers["studio-b"])
        missing = client.request(method, path.replace(claim_id, "0" * 32), headers=headers["studio-b"])
        assert other.status_code == missing.status_code == 404
        assert "studio-a" not in other.text and "Chelsea" not in other.text
    assert client.get("/v1/claims", headers=headers["ana"]).status_code == 403
    assert client.delete(f"/v1/claims/{claim_id}", headers=headers["studio-a"]).status_code == 204
    assert client.get(f"/v1/claims/{claim_id}", headers=headers["studio-a"]).json()["status"] == "withdrawn"


@pytest.mark.parametrize(("files", "complaint"), [
    ([("reference", ("cat.png", b"", "image/png"))], "the file is empty"),
    ([("reference", ("cat.png", b"\x89PNG\r\n\x1a\nbroken", "image/png"))], "not a readable image"),
    ([("reference", ("notes.txt", b"hello", "text/plain"))], "not a readable image, clip or recording"),
])
def test_bad_references_get_a_clear_4xx_and_store_nothing(api, files, complaint):
    client, headers, _ = api
    response = client.post("/v1/claims", headers=headers["studio-a"], files=cat_upload() + files,
                           data={"title": "Chelsea"})
    assert response.status_code == 422 and complaint in response.json()["detail"]
    assert client.get("/v1/claims", headers=headers["studio-a"]).json() == []


def test_a_claim_needs_a_title_and_a_reference(api):
    client, headers, _ = api
    assert client.post("/v1/claims", headers=headers["studio-a"], files=cat_upload()).status_code == 422
    assert client.post("/v1/claims", headers=headers["studio-a"], data={"title": "x"}).status_code == 422


def test_a_takedown_claim_filed_through_the_api_takes_down_published_copies(api):
    client, headers, settings = api
    store = DecisionStore(client.app.state.services.engine)
    for clip_id, picture in (("copy", EDITS["jpeg_25"](image("chelsea"))), ("other", image("rocket"))):
        h = hash_frame(picture)
        store.record([replace(decided(decision(clip_id)), features={"character": ("v", {"frames": [
            {"index": 0, "t": 0.0, "pdq": h.pdq, "quality": h.quality, "phash": h.phash}]})})])

    started = time.monotonic()
    filed = client.post("/v1/claims", headers=headers["studio-a"], files=cat_upload(),
                        data={"title": "Chelsea", "action": "takedown"})
    assert filed.status_code == 201
    claim_id = filed.json()["claim_id"]
    on_kafka = read_decisions(settings.kafka_bootstrap, {"copy"}, timeout_s=120)["copy"]
    elapsed = time.monotonic() - started
    assert (on_kafka["verdict"], on_kafka["source"]) == ("takedown", "retroscan")
    print(f"filing to takedown on Kafka: {elapsed:.1f} s")
    deadline = time.monotonic() + 30
    while not (matches := client.get(f"/v1/claims/{claim_id}/matches", headers=headers["studio-a"]).json()):
        assert time.monotonic() < deadline, "the match was never recorded for the holder"
        time.sleep(0.2)
    assert [(m["clip_id"], m["source"]) for m in matches] == [("copy", "retroscan")]
    assert store.get("other")["verdict"] == "allow"
