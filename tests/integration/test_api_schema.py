"""schemathesis against the published `/openapi.json`, with every role's token: whatever the
schema allows a client to send, the service answers without a 5xx and within what the schema
says (status codes, content types, bodies). A fixed, derandomised set of examples per route.

schemathesis's pytest plugin does not run under pytest 9 (it reaches for a private node
attribute), so this drives its strategies through hypothesis directly, one operation at a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clipguard.core.config import Settings
from registry.accounts import ROLES
from service.app import create_app
from service.bodies import UPLOAD_ROUTES
from tests.builders import decided, decision

EXAMPLES_PER_ROUTE = 8


def test_every_route_answers_every_role_within_its_schema(tmp_path: Path):
    home = tmp_path / "home"
    app = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'schema.db'}",
                              kafka_bootstrap="127.0.0.1:1", media_roots=()), publish=lambda d: None)
    svc = app.state.services
    tokens = {}
    for role in ROLES:
        svc.accounts.add(role, role)
        tokens[role] = svc.accounts.issue_token(role)
    svc.decisions.record([decided(decision("queued", "review"), with_frames=True)])
    operations = [result.ok() for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()]
    assert len(operations) >= 20, [f"{o.method} {o.path}" for o in operations]
    calls: dict[str, list[int]] = {}

    for operation in operations:
        try:
            _answers_within_schema(operation, tokens, calls)
        except Exception as exc:
            pytest.fail(f"{operation.method.upper()} {operation.path}: {exc}")
    print({route: sorted(set(codes)) for route, codes in calls.items()})
    assert all(code < 500 for codes in calls.values() for code in codes)


def _answers_within_schema(operation, tokens: dict[str, str], calls: dict[str, list[int]]) -> None:
    # A file's content cannot be described by the schema: a random "image" is rightly 422.
    unjudged = [positive_data_acceptance] if UPLOAD_ROUTES.match(operation.path) else []

    @settings(max_examples=EXAMPLES_PER_ROUTE, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def every_role(case) -> None:
        for role in ROLES:
            response = case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"},
                                              excluded_checks=unjudged)
            calls.setdefault(f"{case.method} {case.path}", []).append(response.status_code)

    every_role()
