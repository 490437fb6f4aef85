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
