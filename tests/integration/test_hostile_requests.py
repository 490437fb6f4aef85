"""Requests an attacker or a careless client sends: each gets a clear 4xx, never a 500, and none
costs the service more than its cap (the hardening issue's audit, item by item)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from clipguard.app.cli import cli
from clipguard.core.config import Settings
from fixtures.clips import write_frames
from service.app import create_app
from service.bodies import MAX_UPLOADS_REQUEST_BYTES
from tests.builders import decided, decision
from tests.conftest import form_csrf
from tests.service_world import PASSWORD, World

MIB = 1 << 20
# One file part that never ends: a well-formed start, so only the cap can stop it.
PART_HEAD = (b'--xyz\r\nContent-Disposition: form-data; name="reference"; filename="big.bin"\r\n'
             b"Content-Type: application/octet-stream\r\n\r\n")


def _asgi_upload(app, headers: list[tuple[bytes, bytes]], total: int, chunk: int = MIB) -> tuple[int, int]:
    """POST `total` bytes of multipart body to /v1/claims straight through ASGI: (status, bytes the
    app pulled from the client before it answered)."""
    pulled, status = 0, None

    async def receive():
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        body = (PART_HEAD + b"x" * (chunk - len(PART_HEAD))) if pulled == 0 else b"x" * chunk
        pulled += chunk
        return {"type": "http.request", "body": body, "more_body": pulled < total}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start" and status is None:
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/claims", "raw_path": b"/v1/claims", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"content-type", b"multipart/form-data; boundary=xyz"), *headers]}
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_a_200_mb_upload_is_refused_before_more_than_1_mb_is_read(settings: Settings):
    app = create_app(settings, publish=lambda d: None)
    token = app.state.services.accounts.issue_token(_account(app, "rita", "rights_holder"))
    size = 200 * MIB
    declared = [(b"content-length", str(size).encode())]

    assert _asgi_upload(app, declared, size) == (401, 0)                       # no token: not a byte read
    assert _asgi_upload(app, [*declared, (b"authorization", b"Bearer cg_x_y")], size) == (401, 0)
    bearer = (b"authorization", f"Bearer {token}".encode())
    assert _asgi_upload(app, [*declared, bearer], size) == (413, 0)             # over the cap as declared
    # No length declared (chunked): read only until the cap is crossed.
    status, pulled = _asgi_upload(app, [bearer], size)
    assert status == 413 and pulled <= MAX_UPLOADS_REQUEST_BYTES + MIB, pulled


def _account(app, name: str, role: str) -> str:
    app.state.services.accounts.add(name, role)
    return name


@pytest.mark.parametrize("path", ["/v1/decisions/a%00b", "/v1/reviews/a%00b", "/v1/audit?clip_id=a%00b",
                                  "/v1/audit?actor=a%00b", "/v1/claims/a%00b", "/v1/decisions/" + "x" * 60_000])
def test_ids_that_break_the_pattern_are_422_with_a_bounded_body(world: World, path: str):
    role = "rights_holder" if "claims" in path else "admin"
    response = world.client.get(path, headers=world.bearer(role))
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 2000


def test_a_lone_surrogate_or_nul_in_a_json_body_is_422_not_500(world: World):
    item = world.client.get("/v1/reviews", headers=world.bearer("analyst")).json()[0]["item_id"]
    for note in ('"\\ud800"', '"before\\u0000after"'):
        body = b'{"action": "allow", "note": ' + note.encode() + b'}'
        response = world.client.post(f"/v1/reviews/{item}/actions", content=body,
                                     headers={**world.bearer("analyst"), "content-type": "application/json"})
        assert response.status_code == 422, response.text[:300]
        json.loads(response.text)      # it could be encoded


def _file_claim(world: World, title: str, files: list[tuple[str, bytes]], aliases: list[str] = ()):
    return world.client.post("/v1/claims", headers=world.bearer("rights_holder"),
                             data={"title": title, "alias": list(aliases)},
                             files=[("reference", (name, data)) for name, data in files])


def _png(side: int = 64) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.full((side, side, 3), 128, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def test_claims_with_unusable_text_or_media_are_422_and_say_why(world: World, tmp_path: Path):
    assert _file_claim(world, "   ", [("a.png", _png())]).status_code == 422
    assert _file_claim(world, "Title\x00", [("a.png", _png())]).status_code == 422
    too_long_alias = _file_claim(world, "Ok", [("a.png", _png())], ["a" * 500_000])
    assert too_long_alias.status_code in (413, 422), too_long_alias.text[:200]
    assert _file_claim(world, "Ok", [("a.png", _png())], ["a" * 300]).status_code == 422

    tiny = write_frames(tmp_path / "tiny.mp4", [np.zeros((16, 16, 3), np.uint8)] * 12, size=(16, 16))
    small = _file_claim(world, "Ok", [("tiny.mp4", tiny.read_bytes())])
    assert small.status_code == 422 and "too small" in small.json()["detail"]

    truncated = write_frames(tmp_path / "t.mp4", [np.zeros((64, 64, 3), np.uint8)] * 12, size=(64, 64))
    broken = _file_claim(world, "Ok", [("t.mp4", truncated.read_bytes()[:300])])
    assert broken.status_code == 422 and "/tmp" not in broken.text and "upload-" not in broken.text, broken.text
    assert world.client.get("/v1/claims", headers=world.bearer("rights_holder")).json() == []


def test_public_figure_names_and_cameo_lists_are_checked(world: World):
    blank = world.client.post("/v1/figures", headers=world.bearer("admin"), data={"name": "  "},
                              files=[("photo", ("a.png", _png()))])
    assert blank.status_code == 422
    bad_list = world.client.put("/v1/cameos/cameo_owner/permission", headers=world.bearer("cameo_owner"),
                                json={"permission": "approved", "approved": ["ok", "not ok/../x"]})
    assert bad_list.status_code == 422


def test_analysts_never_see_escalated_items_admins_do(world: World):
    analyst, admin = world.bearer("analyst"), world.bearer("admin")
    item = world.client.post("/v1/reviews/claim", headers=analyst).json()["item_id"]
    escalated = world.client.post(f"/v1/reviews/{item}/actions", headers=analyst,
                                  json={"action": "escalate", "note": "beyond me"})
    assert escalated.status_code == 200
    assert item not in [i["item_id"] for i in world.client.get("/v1/reviews", headers=analyst).json()]
    assert world.client.get(f"/v1/reviews/{item}", headers=analyst).status_code == 404
    assert item in [i["item_id"] for i in world.client.get("/v1/reviews", headers=admin).json()]
    assert world.client.get(f"/v1/reviews/{item}", headers=admin).status_code == 200
    world.login("analyst")
    assert item not in world.client.get("/console/queue").text
    assert world.client.get(f"/console/items/{item}").status_code == 404


def test_a_disabled_or_revoked_account_loses_its_sessions_and_tokens(world: World):
    env = {"CLIPGUARD_HOME": str(world.settings.home), "CLIPGUARD_DATABASE_URL": world.settings.database_url}
    runner = CliRunner()
    world.login("analyst")
    assert world.client.get("/console", follow_redirects=False).status_code == 200
    listed = runner.invoke(cli, ["users", "sessions", "analyst"], env=env)
    assert listed.exit_code == 0 and listed.output.count("opened") == 1, listed.output
    revoked = runner.invoke(cli, ["users", "revoke", "analyst"], env=env)
    assert "ended 1 console session(s)" in revoked.output, revoked.output
    assert world.client.get("/console", follow_redirects=False).status_code == 303

    world.login("admin")
    assert runner.invoke(cli, ["users", "sessions", "admin", "--end"], env=env).exit_code == 0
    assert world.client.get("/console", follow_redirects=False).status_code == 303

    world.login("admin")
    assert runner.invoke(cli, ["users", "disable", "admin"], env=env).exit_code == 0
    assert world.client.get("/console", follow_redirects=False).status_code == 303
    assert world.client.get("/v1/reviews", headers=world.bearer("admin")).status_code == 401
    world.client.cookies.clear()
    form = world.client.get("/login")
    again = world.client.post("/login", data={"name": "admin", "password": PASSWORD,
                                              "csrf_token": form_csrf(form.text)}, follow_redirects=False)
    assert again.status_code == 401 and "clipguard_session" not in world.client.cookies


def test_wrong_names_from_one_address_do_not_lock_out_everyone(world: World):
    for i in range(6):
        form = world.client.get("/login")
        world.client.post("/login", data={"name": f"nobody{i}\x00", "password": "x" * 12,
                                          "csrf_token": form_csrf(form.text)}, follow_redirects=False)
    form = world.client.get("/login")
    right = world.client.post("/login", data={"name": "analyst", "password": PASSWORD,
                                              "csrf_token": form_csrf(form.text)}, follow_redirects=False)
    assert right.status_code == 303


def test_the_home_and_the_database_are_the_owners_only(settings: Settings):
    create_app(settings, publish=lambda d: None).state.services.decisions.record([decided(decision("c1"))])
    assert settings.home.stat().st_mode & 0o777 == 0o700
    if settings.database_url.startswith("sqlite"):
        db = Path(settings.database_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            assert not path.exists() or path.stat().st_mode & 0o777 == 0o600, path


def test_the_published_schema_documents_every_refusal_and_no_console_page(world: World):
    schema = world.client.get("/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith(("/console", "/login", "/logout"))]
    for path, operations in schema["paths"].items():
        if path.startswith("/v1"):
            for method, operation in operations.items():
                assert {"401", "403", "422"} <= operation["responses"].keys(), (method, path)
