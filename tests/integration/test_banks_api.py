"""`/v1/banks` through the real app: admins only, a file with a bad line refused whole with its
line numbers, and the export read back the way the CLI's is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from service.app import create_app

PDQ = "pdq " + "0f" * 32
MD5 = "video_md5 " + "ab" * 16


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    app = create_app(settings)
    accounts = app.state.services.accounts
    headers = {}
    for name, role in (("root", "admin"), ("studio", "rights_holder"), ("ana", "analyst")):
        accounts.add(name, role)
        headers[name] = {"Authorization": f"Bearer {accounts.issue_token(name)}"}
    with TestClient(app) as client:
        yield client, headers


def test_an_admin_creates_imports_exports_and_disables_a_bank(api):
    client, headers = api
    admin = headers["root"]
    made = client.post("/v1/banks", headers=admin, json={"name": "ncii", "owner": "partner", "action": "review"})
    assert made.status_code == 201, made.text
    assert client.post("/v1/banks", headers=admin, json={"name": "ncii", "owner": "x"}).status_code == 409
    text = {**admin, "Content-Type": "text/plain"}
    imported = client.post("/v1/banks/ncii/entries", headers=text, content=f"{PDQ}\n{MD5}\n")
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == 2 and imported.json()["entries"] == 2
    exported = client.get("/v1/banks/ncii/export", headers=admin)
    assert exported.status_code == 200 and exported.text.splitlines() == [PDQ, MD5]
    csv = client.get("/v1/banks/ncii/export", headers=admin, params={"format": "csv"}).text.splitlines()
    assert csv[0] == "signal_type,signal,label,source_id" and len(csv) == 3
    assert client.post("/v1/banks/ncii/disable", headers=admin).json()["enabled"] is False
    history = client.get("/v1/banks/ncii", headers=admin).json()["history"]
    assert [h["action"] for h in history] == ["created", "imported", "disabled"]
    assert [h["version"] for h in history] == [1, 2, 3]


def test_a_file_with_a_bad_line_is_refused_whole_with_its_line_number(api):
    client, headers = api
    admin = {**headers["root"], "Content-Type": "text/plain"}
    client.post("/v1/banks", headers=headers["root"], json={"name": "b", "owner": "o"})
    refused = client.post("/v1/banks/b/entries", headers=admin, content=f"{PDQ}\n\npdq 12\n")
    assert refused.status_code == 422 and "line 3: not a valid pdq signal" in refused.json()["detail"]
    assert client.get("/v1/banks/b", headers=headers["root"]).json()["entries"] == 0
    assert client.post("/v1/banks/nope/entries", headers=admin, content=PDQ).status_code == 404


def test_only_admins_reach_banks(api):
    client, headers = api
    for who in ("studio", "ana"):
        assert client.get("/v1/banks", headers=headers[who]).status_code == 403
        assert client.post("/v1/banks", headers=headers[who], json={"name": "x", "owner": "o"}).status_code == 403
    assert client.get("/v1/banks").status_code == 401
    assert client.get("/v1/banks/reports", headers=headers["root"]).json() == []
