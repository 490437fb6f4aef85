"""A service with one account (and token) per role, for the tests of its doors."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from clipguard.core.contracts import Decision
from tests.conftest import form_csrf

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    published: list[Decision]
    settings: Settings

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def login(self, name: str, password: str = PASSWORD) -> TestClient:
        form = self.client.get("/login")
        token = form_csrf(form.text)
        self.client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                         follow_redirects=False)
        return self.client

    def csrf(self, path: str = "/console/queue") -> str:
        return form_csrf(self.client.get(path).text)
