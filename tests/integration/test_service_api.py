"""The service's doors: every role against every route, bad tokens and cookies, CSRF, throttling.

Decisions that analysts make go to a list here; the browser test sends them to a real broker.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from kafka.errors import KafkaTimeoutError
from prometheus_client.parser import text_string_to_metric_families

from clipguard.core.config import Settings
from clipguard.core.contracts import Decision
from registry.accounts import ROLE_SCOPES, ROLES
from service.app import create_app
from tests.builders import decided, decision
from tests.conftest import form_csrf
from tests.service_world import PASSWORD, World


def item_id(world: World) -> str:
    return world.client.get("/v1/reviews", headers=world.bearer("analyst")).json()[0]["item_id"]


# (method, path, JSON body, the scope the route needs). {item} is filled in per test.
API_ROUTES = [
    ("GET", "/v1/reviews", None, "reviews:read"),
    ("POST", "/v1/reviews/claim", None, "reviews:write"),
    ("GET", "/v1/reviews/{item}", None, "reviews:read"),
    ("POST", "/v1/reviews/{item}/actions", {"action": "allow", "note": "ok"}, "reviews:write"),
    ("GET", "/v1/decisions/queued", None, "decisions:read"),
    ("POST", "/v1/disputes", {"clip_id": "blocked", "creator_id": "carol", "statement": "mine"}, "disputes:write"),
    ("GET", "/v1/audit", None, "audit:read"),
    ("GET", "/v1/queue/stats", None, "reviews:read"),
    ("GET", "/metrics", None, "metrics:read"),
    ("POST", "/v1/claims", None, "claims:write"),
    ("GET", "/v1/claims", None, "claims:read"),
    ("GET", "/v1/claims/{claim}", None, "claims:read"),
    ("DELETE", "/v1/claims/{claim}", None, "claims:write"),
    ("GET", "/v1/claims/{claim}/matches", None, "claims:read"),
    ("POST", "/v1/figures", None, "figures:write"),
    ("GET", "/v1/figures", None, "figures:read"),
    ("PUT", "/v1/cameos/cameo_owner", None, "cameos:write"),
    ("GET", "/v1/cameos/cameo_owner", None, "cameos:read"),
    ("DELETE", "/v1/cameos/cameo_owner", None, "cameos:write"),
    ("PUT", "/v1/cameos/cameo_owner/permission", {"permission": "only_me"}, "cameos:write"),
    ("GET", "/v1/cameos/cameo_owner/clips", None, "cameos:read"),
    ("GET", "/v1/cameos/cameo_owner/remixes", None, "cameos:read"),
    ("POST", "/v1/cameos/cameo_owner/clips/queued/removal", {"reason": "that is me"}, "cameos:write"),
    ("PUT", "/v1/mutuals/alice", {"mutuals": ["bob"]}, "mutuals:write"),
    ("GET", "/v1/banks", None, "banks:read"),
    ("POST", "/v1/banks", {"name": "ncii", "owner": "partner"}, "banks:write"),
    ("GET", "/v1/banks/reports", None, "banks:read"),
    ("GET", "/v1/banks/ncii", None, "banks:read"),
    ("POST", "/v1/banks/ncii/entries", None, "banks:write"),
    ("GET", "/v1/banks/ncii/export", None, "banks:read"),
    ("GET", "/v1/banks/ncii/matches", None, "banks:read"),
    ("POST", "/v1/banks/ncii/disable", None, "banks:write"),
    ("POST", "/v1/banks/ncii/enable", None, "banks:write"),
]


def test_the_matrix_covers_every_authenticated_route(world: World):
    paths = set(world.client.get("/openapi.json").json()["paths"])
    api = {p for p in paths if p.startswith("/v1/") or p == "/metrics"}
    assert api == {p.replace("queued", "{clip_id}").replace("{item}", "{item_id}").replace("{claim}", "{claim_id}")
                   .replace("cameo_owner", "{user}").replace("alice", "{user}").replace("ncii", "{name}")
                   for _, p, _, _ in API_ROUTES}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_route(world: World, role: str):
    target = item_id(world)
    for method, path, body, scope in API_ROUTES:
        response = world.client.request(method, path.format(item=target, claim="0" * 32), json=body,
                                        headers=world.bearer(role))
        allowed = scope in ROLE_SCOPES[role]
        assert (response.status_code == 403) == (not allowed), (role, method, path, response.text)
        assert response.status_code != 401, (role, path)


def test_the_public_routes_are_health_and_the_schema_only(world: World):
    assert world.client.get("/healthz").json() == {"status": "ok"}
    assert "/v1/reviews" in world.client.get("/openapi.json").json()["paths"]
    assert world.client.get("/metrics").status_code == 401


@pytest.mark.parametrize(("header", "complaint"), [
    (None, "Authorization: Bearer"),
    ("Basic YW5hOnB3", "Authorization: Bearer"),
    ("Bearer nonsense", "malformed"),
    ("Bearer cg_0000000000000000_forgedsecret", "unknown bearer token"),
])
def test_missing_and_forged_tokens_get_401(world: World, header, complaint):
    response = world.client.get("/v1/reviews", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and complaint in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_with_the_right_id_and_a_wrong_secret_is_refused(world: World):
    prefix, token_id, _ = world.tokens["analyst"].split("_", 2)
    response = world.client.get("/v1/reviews", headers={"Authorization": f"Bearer {prefix}_{token_id}_guess"})
    assert response.status_code == 401


def test_expired_revoked_and_narrowed_tokens(world: World):
    accounts = world.client.app.state.services.accounts
    expired = accounts.issue_token("analyst", ttl=dt.timedelta(seconds=-1))
    response = world.client.get("/v1/reviews", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    narrow = accounts.issue_token("analyst", frozenset({"reviews:read"}))
    assert world.client.get("/v1/reviews", headers={"Authorization": f"Bearer {narrow}"}).status_code == 200
    assert world.client.post("/v1/reviews/claim", headers={"Authorization": f"Bearer {narrow}"}).status_code == 403
    with pytest.raises(ValueError, match="cannot hold scope"):
        accounts.issue_token("platform", frozenset({"reviews:read"}))
    accounts.revoke_tokens("analyst")
    response = world.client.get("/v1/reviews", headers=world.bearer("analyst"))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_tokens_and_sessions_are_stored_only_as_hashes(world: World):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from registry.models import AccountRow, ApiTokenRow, SessionRow

    world.login("analyst")
    cookie = world.client.cookies["clipguard_session"]
    with Session(world.client.app.state.services.engine) as session:
        stored = [str(v) for row in session.scalars(select(ApiTokenRow)) for v in vars(row).values()]
        stored += [str(v) for row in session.scalars(select(SessionRow)) for v in vars(row).values()]
        stored += [str(row.password_hash) for row in session.scalars(select(AccountRow))]
    secrets = [t.split("_", 2)[2] for t in world.tokens.values()] + [cookie, PASSWORD]
    assert not [s for s in secrets if any(s in value for value in stored)]


@pytest.mark.parametrize("role", ROLES)
def test_only_analysts_and_admins_use_the_console(world: World, role: str):
    # Other roles' passwords are right, but they open no session: the console is not theirs.
    form = world.client.get("/login")
    login = world.client.post("/login", data={"name": role, "password": PASSWORD, "csrf_token": form_csrf(form.text)},
                              follow_redirects=False)
    console_role = role in ("analyst", "admin")
    assert login.status_code == (303 if console_role else 403)
    assert ("clipguard_session" in world.client.cookies) == console_role
    response = world.client.get("/console", follow_redirects=False)
    assert response.status_code == (200 if console_role else 303)


def test_the_doors_do_not_mix(world: World):
    client = world.login("analyst")
    assert client.get("/console").status_code == 200
    assert client.get("/v1/reviews").status_code == 401        # a cookie opens no API
    client.cookies.clear()
    response = client.get("/console", headers=world.bearer("analyst"), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_session_cookies_are_httponly_samesite_and_secure_over_tls(settings: Settings):
    app = create_app(settings, publish=lambda d: None)
    app.state.services.accounts.add("ana", "analyst", PASSWORD)
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(app, base_url=base)
        form = client.get("/login")
        token = form_csrf(form.text)
        response = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False)
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("clipguard_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert ("Secure" in cookie) == secure


def test_forged_and_expired_session_cookies_go_back_to_login(world: World):
    world.client.cookies.set("clipguard_session", "forged")
    response = world.client.get("/console/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/console/queue"
    accounts = world.client.app.state.services.accounts
    cookie, _ = accounts.open_session(accounts.check_password("analyst", PASSWORD), ttl=dt.timedelta(seconds=-1))
    world.client.cookies.set("clipguard_session", cookie)
    assert world.client.get("/console", follow_redirects=False).status_code == 303


def test_forms_without_the_sessions_csrf_token_are_refused(world: World):
    client = world.login("analyst")
    for token in (None, "wrong"):
        response = client.post("/console/queue/claim", data={} if token is None else {"csrf_token": token})
        assert response.status_code == 403 and "CSRF" in response.text
    assert world.client.get("/v1/reviews", headers=world.bearer("analyst")).json()[0]["status"] == "open"
    response = client.post("/console/queue/claim", data={"csrf_token": world.csrf()}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/items/")


def test_a_login_form_from_elsewhere_is_refused(world: World):
    response = world.client.post("/login", data={"name": "analyst", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert "clipguard_session" not in world.client.cookies


def test_repeated_failed_logins_are_throttled(world: World):
    form = world.client.get("/login")
    token = form_csrf(form.text)
    attempt = {"name": "analyst", "password": "wrong password!", "csrf_token": token}
    codes = [world.client.post("/login", data=attempt).status_code for _ in range(5)]
    assert codes == [401] * 5
    response = world.client.post("/login", data={**attempt, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 429 and "Too many failed logins" in response.text


def test_a_wrong_name_and_a_wrong_password_read_the_same(world: World):
    form = world.client.get("/login")
    token = form_csrf(form.text)
    texts = {world.client.post("/login", data={"name": name, "password": "nope nope nope", "csrf_token": token})
             .text for name in ("analyst", "nobody")}
    assert len(texts) == 1


def test_logout_ends_the_session(world: World):
    client = world.login("analyst")
    cookie = client.cookies["clipguard_session"]
    response = client.post("/logout", data={"csrf_token": world.csrf()}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("clipguard_session", cookie)     # replaying the old cookie
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_dispute_through_the_api_reaches_an_analyst_and_is_answered(world: World):
    filed = world.client.post("/v1/disputes", headers=world.bearer("platform"),
                              json={"clip_id": "blocked", "creator_id": "carol", "statement": "my own cat"})
    assert filed.status_code == 201 and filed.json()["kind"] == "dispute"
    again = world.client.post("/v1/disputes", headers=world.bearer("platform"),
                              json={"clip_id": "blocked", "creator_id": "carol", "statement": "again"})
    assert again.status_code == 409
    stranger = world.client.post("/v1/disputes", headers=world.bearer("platform"),
                                 json={"clip_id": "blocked", "creator_id": "mallory", "statement": "x"})
    assert stranger.status_code == 404
    analyst = world.bearer("analyst")
    # Same severity as the queued character review, whose 4-hour deadline comes before the dispute's day.
    first = world.client.post("/v1/reviews/claim", headers=analyst).json()
    claimed = world.client.post("/v1/reviews/claim", headers=analyst).json()
    assert (first["kind"], claimed["kind"]) == ("review", "dispute")
    done = world.client.post(f"/v1/reviews/{claimed['item_id']}/actions", headers=analyst,
                             json={"action": "allow", "note": "the creator's own photo"})
    assert done.status_code == 200 and done.json()["decision"]["source"] == "analyst"
    assert [d.verdict for d in world.published] == ["allow"]
    history = world.client.get("/v1/decisions/blocked", headers=world.bearer("platform")).json()["history"]
    assert [(d["source"], d["verdict"]) for d in history] == [("gate", "block"), ("analyst", "allow")]
    trail = world.client.get("/v1/audit", params={"clip_id": "blocked"}, headers=analyst).json()
    assert [e["action"] for e in reversed(trail)] == ["dispute", "claim", "allow"]


def test_when_kafka_refuses_the_decision_nothing_is_recorded(settings: Settings):
    def down(_: Decision) -> None:
        raise KafkaTimeoutError("no broker")

    app = create_app(settings, publish=down)
    svc = app.state.services
    svc.accounts.add("ana", "analyst")
    token = svc.accounts.issue_token("ana")
    svc.decisions.record([decided(decision("queued", "review"))])
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    item = client.post("/v1/reviews/claim", headers=headers).json()
    response = client.post(f"/v1/reviews/{item['item_id']}/actions", headers=headers,
                           json={"action": "block", "note": "x"})
    assert response.status_code == 503 and "nothing was recorded" in response.json()["detail"]
    assert svc.decisions.get("queued")["verdict"] == "review"


def test_unknown_ids_and_bad_bodies_get_clear_4xx(world: World):
    analyst = world.bearer("analyst")
    assert world.client.get("/v1/reviews/nope", headers=analyst).status_code == 404
    assert world.client.get("/v1/decisions/nope", headers=analyst).status_code == 404
    bad = world.client.post(f"/v1/reviews/{item_id(world)}/actions", headers=analyst,
                            json={"action": "delete", "note": ""})
    assert bad.status_code == 422 and {e["loc"][-1] for e in bad.json()["detail"]} == {"action", "note"}
    bad_id = world.client.post("/v1/disputes", headers=world.bearer("platform"),
                               json={"clip_id": "../etc", "creator_id": "carol", "statement": "x"})
    assert bad_id.status_code == 422


def test_http_metrics_count_requests_by_route_template(world: World):
    for _ in range(3):
        world.client.get("/v1/reviews", headers=world.bearer("analyst"))
    text = world.client.get("/metrics", headers=world.bearer("admin")).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    key = ("clipguard_http_requests_total", (("method", "GET"), ("route", "/v1/reviews"), ("status", "200")))
    assert samples[key] >= 3
    assert any(name == "clipguard_http_request_seconds_count" for name, _ in samples)
    assert samples[("clipguard_review_queue_depth", (("kind", "review"),))] == 1    # the world's queued clip
