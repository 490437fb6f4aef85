"""Every response carries the hardening headers; the audit's Data Docs are sandboxed, so a
script planted in an event value cannot run as the console (the hardening issue)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from service.app import create_app
from tests.builders import decided, decision
from tests.conftest import form_csrf

PASSWORD = "correct horse battery staple"


def test_pages_and_apis_carry_hardening_headers_and_data_docs_are_sandboxed(settings: Settings):
    app = create_app(settings, publish=lambda d: None)
    svc = app.state.services
    svc.accounts.add("ana", "analyst", PASSWORD)
    svc.decisions.record([decided(decision("c1", "review"), with_frames=True)])
    docs = settings.home / "datadocs"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html><body><script>fetch('/console')</script>c1</body></html>")
    client = TestClient(app)
    token = form_csrf(client.get("/login").text)
    client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token})

    for path in ("/console", "/console/frames/c1/1.jpg", "/console/datadocs/index.html"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:200])
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store", path   # nothing behind the login outlives it
    assert "sandbox" in client.get("/console/datadocs/index.html").headers["content-security-policy"]
    assert client.get("/console").headers["content-security-policy"] == "frame-ancestors 'none'"
    api = client.get("/v1/decisions/c1", headers={"Authorization": "Bearer nope"})
    assert api.status_code == 401 and api.headers["x-frame-options"] == "DENY"
    assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"


def test_twenty_wrong_logins_at_once_check_at_most_five_passwords(settings: Settings):
    from concurrent.futures import ThreadPoolExecutor

    app = create_app(settings, publish=lambda d: None)
    app.state.services.accounts.add("ana", "analyst", PASSWORD)
    clients = [TestClient(app) for _ in range(20)]
    tokens = [form_csrf(c.get("/login").text) for c in clients]

    def guess(i: int) -> int:
        return clients[i].post("/login", data={"name": "ana", "password": f"wrong guess {i}",
                                                "csrf_token": tokens[i]}).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(guess, range(20)))
    # Every guess counts before its ~200 ms check, so the burst may be refused whole; never more
    # than five passwords are checked.
    assert set(answers) <= {401, 429} and answers.count(401) <= 5, answers
