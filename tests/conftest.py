"""Shared fixtures: real databases (SQLite and PostgreSQL), real brokers (Tansu and Apache Kafka),
real clips."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from clipguard.app.broker import free_port
from clipguard.core.config import Settings
from fixtures.clips import write_corrupt_clip, write_demo_clips, write_zero_frame_clip
from registry.db import migrate
from tests.gate_helpers import running_broker

# The fuzz tests' budgets: a fixed, bounded set of examples in `make test`; many more, randomised,
# in `make fuzz` (HYPOTHESIS_PROFILE=fuzz).
hypothesis_settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, database=None)
hypothesis_settings.register_profile("fuzz", max_examples=3000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# CI's machines run PostgreSQL here (DESIGN.md); override to test another server.
POSTGRES_ADMIN_URL = os.environ.get("CLIPGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"clipguard_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        why = (f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); run `make postgres` "
               "or set CLIPGUARD_TEST_POSTGRES")
        # CI must test PostgreSQL; a developer without one still gets the SQLite half of the suite.
        if os.environ.get("CI") == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from registry.db import engine_for

        engine_for(f"{base}/{name}").dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked by its folder: unit, integration or browser (`make test-fast` runs unit)."""
    for item in items:
        lane = Path(str(item.path)).parent.name
        if lane in LANES:
            item.add_marker(getattr(pytest.mark, lane))


LANES = ("unit", "integration", "browser")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL, on an empty schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clipguard.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
    migrate(url)
    return url


def _reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    from registry.db import engine_for

    engine_for(url).dispose()


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clips plus broken ones, generated once per session."""
    folder = tmp_path_factory.mktemp("media")
    write_demo_clips(folder)
    write_corrupt_clip(folder / "corrupt.mp4")
    write_zero_frame_clip(folder / "zero-frames.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    return folder


@dataclass(frozen=True)
class DemoRun:
    settings: Settings
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`clipguard demo` run once, as a user runs it, for the tests that look at what it left."""
    home = tmp_path_factory.mktemp("demo") / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'clipguard.db'}",
                        kafka_bootstrap=f"127.0.0.1:{free_port()}", media_roots=(home / "media",))
    return DemoRun(settings, clipguard(["demo"], settings, timeout=300))


@pytest.fixture
def broker_engine(request: pytest.FixtureRequest) -> str:
    """Tansu beside SQLite, Apache Kafka beside PostgreSQL: a test that takes a broker and a
    database runs on both brokers without doubling its runs. Production's pair is the second."""
    callspec = getattr(request.node, "callspec", None)
    database = callspec.params.get("database_url") if callspec else None
    return "kafka" if database == "postgresql" else "tansu"


@pytest.fixture
def bootstrap(broker_engine: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty broker with clipguard's topics, on a free port."""
    with running_broker(broker_engine, tmp_path / "broker") as address:
        yield address



@pytest.fixture
def settings(tmp_path: Path, database_url: str, clips_dir: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, kafka_bootstrap="127.0.0.1:1",
                    media_roots=(clips_dir,))


def clipguard(args: list[str], settings: Settings, extra_env: dict[str, str] | None = None,
              **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clipguard", *args], env={**settings.to_env(), **(extra_env or {})},
                          capture_output=True, text=True, **kwargs)


def form_csrf(html: str) -> str:
    """The CSRF token a console page's form carries."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
