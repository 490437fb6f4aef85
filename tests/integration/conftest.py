"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from clipguard.core.contracts import Decision
from registry.accounts import ROLES
from service.app import create_app
from tests.builders import decided, decision
from tests.service_world import PASSWORD, World


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    published: list[Decision] = []
    app = create_app(settings, publish=published.append)
    svc = app.state.services
    tokens = {}
    for role in ROLES:
        svc.accounts.add(role, role, PASSWORD)
        tokens[role] = svc.accounts.issue_token(role)
    svc.decisions.record([decided(decision("queued", "review"), with_frames=True),
                          decided(decision("blocked", "block"), creator_id="carol")])
    with TestClient(app) as client:
        yield World(client, tokens, published, settings)
