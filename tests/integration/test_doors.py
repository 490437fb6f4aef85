"""The CLI and the REST API are two doors onto one use case each: the same inputs leave the same
state behind, whichever door they came through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from fixtures.clips import png_file
from fixtures.faces import photo_file
from registry.claims import ClaimStore
from registry.db import engine_for
from registry.faces import FaceStore
from service.app import create_app
from tests.conftest import clipguard


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    app = create_app(settings, publish=lambda decision: None)
    accounts = app.state.services.accounts
    headers = {}
    for name, role in (("studio", "rights_holder"), ("eve", "cameo_owner")):
        accounts.add(name, role)
        headers[name] = {"Authorization": f"Bearer {accounts.issue_token(name)}"}
    with TestClient(app) as client:
        yield client, headers


def _history(settings: Settings, claim_id: str) -> list[str]:
    return [h["action"] for h in ClaimStore(engine_for(settings.database_url)).get(claim_id, None).history]


@pytest.mark.parametrize("action, retroscanned", [("takedown", True), ("block", False)])
def test_a_claim_filed_through_either_door_is_retroscanned_alike(settings: Settings, api, tmp_path: Path,
                                                                  action: str, retroscanned: bool):
    client, headers = api
    cat = tmp_path / "cat.png"
    cat.write_bytes(png_file("cat.png", "chelsea").data)
    by_cli = clipguard(["claims", "add", "--holder", "studio", "--title", "Chelsea", "--alias", "Chelsea@fr",
                        "--reference", str(cat), "--action", action], settings, timeout=120)
    assert by_cli.returncode == 0, by_cli.stderr
    by_api = client.post("/v1/claims", headers=headers["studio"], data={"title": "Chelsea", "alias": ["Chelsea@fr"],
                                                                         "action": action},
                         files=[("reference", ("cat.png", cat.read_bytes(), "image/png"))])
    assert by_api.status_code == 201, by_api.text
    cli_claim = ClaimStore(engine_for(settings.database_url)).get(by_cli.stdout.splitlines()[0], None)
    api_claim = ClaimStore(engine_for(settings.database_url)).get(by_api.json()["claim_id"], None)
    same = ("holder_id", "title", "action", "status", "aliases")
    assert {k: cli_claim.to_dict()[k] for k in same} == {k: api_claim.to_dict()[k] for k in same}
    hashes = [[r["pdq"] for r in claim.to_dict()["references"]] for claim in (cli_claim, api_claim)]
    assert hashes[0] == hashes[1]
    # The CLI waits for its retroscan; the API's runs in its own process. Both started one.
    for claim in (cli_claim, api_claim):
        assert ("retroscan" in _history(settings, claim.claim_id)) is retroscanned


def test_a_permission_changed_through_either_door_is_the_same_grant(settings: Settings, api, tmp_path: Path):
    client, headers = api
    photo = tmp_path / "ana.png"
    photo.write_bytes(photo_file("group-a").data)
    assert clipguard(["cameos", "enroll", "--user", "ana", "--photo", str(photo), "--permission", "only_me"],
                     settings).returncode == 0
    enrolled = client.put("/v1/cameos/eve", headers=headers["eve"], data={"permission": "only_me"},
                          files={"photo": ("eve.png", photo_file("group-b").data, "image/png")})
    assert enrolled.status_code == 201, enrolled.text

    by_cli = clipguard(["cameos", "permit", "--user", "ana", "--allow", "bob", "--allow", "carl"], settings)
    assert by_cli.returncode == 0, by_cli.stderr
    by_api = client.put("/v1/cameos/eve/permission", headers=headers["eve"],
                        json={"permission": "approved", "approved": ["bob", "carl"]})
    assert by_api.status_code == 200, by_api.text

    faces = FaceStore(engine_for(settings.database_url))
    assert faces.grant("ana") == faces.grant("eve")
    assert faces.grant("ana").approved == frozenset({"bob", "carl"})
    for user in ("ana", "eve"):
        assert "retroscan" in [e["action"] for e in faces.cameo(user).history]

    assert clipguard(["cameos", "revoke", "--user", "ana"], settings).returncode == 0
    assert client.delete("/v1/cameos/eve", headers=headers["eve"]).status_code == 204
    assert faces.grant("ana") == faces.grant("eve") and faces.grant("ana").permission == "revoked"
