"""`clipguard audit`: run the expectation suites over a window and write Data Docs.

Events and decisions are validated as pandas batches (from the registry, or from topic snapshots
given as JSON-lines files); the claims table is validated through Great Expectations' own SQL
datasource on the registry database. Drift bounds are learned from the week before the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations import Expectation
from sqlalchemy.engine import make_url

from clipguard.core.config import Settings
from quality import suites
from quality.batches import claim_citation_table, decision_table, event_table, read_json_lines
from registry.alerts import Alert, AlertStore
from registry.claims import ClaimStore
from registry.db import migrate
from registry.integrity import CAMEO_PHOTO_COUNTS, CLAIM_REFERENCE_COUNTS
from registry.review import AuditLog
from registry.store import DecisionStore

REFERENCE_WINDOW = dt.timedelta(days=7)



@dataclass(frozen=True)
class SuiteResult:
    suite: str
    rows: int
    checks: int
    failures: list[Alert] = field(default_factory=list)
    skipped: str | None = None


@dataclass(frozen=True)
class AuditReport:
    results: list[SuiteResult]
    docs: Path | None
    bounds: suites.DriftBounds

    @property
    def ok(self) -> bool:
        return not any(r.failures for r in self.results)


class Validator:
    """One ephemeral Great Expectations context; each validation also updates the Data Docs."""

    def __init__(self, docs_dir: Path | None):
        self._ctx = gx.get_context(mode="ephemeral")
        self._ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._docs_dir = docs_dir
        if docs_dir is not None:
            self._ctx.add_data_docs_site(site_name="clipguard", site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
        self._frames = self._ctx.data_sources.add_pandas("batches")

    def frame(self, suite: str, expectations: Sequence[Expectation], frame: pd.DataFrame) -> SuiteResult:
        if frame.empty:
            return SuiteResult(suite, 0, len(expectations), skipped="no rows in the window")
        batch = self._frames.add_dataframe_asset(suite).add_batch_definition_whole_dataframe("window")
        return self._run(suite, expectations, batch, {"dataframe": frame}, len(frame))

    def query(self, suite: str, expectations: Sequence[Expectation], database_url: str, sql: str) -> SuiteResult:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            source = self._ctx.data_sources.add_sqlite(f"{suite}_db", connection_string=database_url)
        else:
            dsn = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            source = self._ctx.data_sources.add_postgres(f"{suite}_db", connection_string=dsn)
        batch = source.add_query_asset(suite, query=sql).add_batch_definition_whole_table("all")
        return self._run(suite, expectations, batch, {}, None)

    def _run(self, suite_name: str, expectations: Sequence[Expectation], batch: Any, parameters: dict[str, Any],
             rows: int | None) -> SuiteResult:
        suite = self._ctx.suites.add(gx.ExpectationSuite(name=suite_name, expectations=list(expectations)))
        definition = self._ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        actions = [UpdateDataDocsAction(name="data_docs")] if self._docs_dir is not None else []
        checkpoint = self._ctx.checkpoints.add(gx.Checkpoint(name=suite_name, validation_definitions=[definition],
                                                             actions=actions))
        result = next(iter(checkpoint.run(batch_parameters=parameters).run_results.values()))
        failures = [Alert(suite_name, r.expectation_config.meta["check"], r.expectation_config.meta["problem"],
                          _observed(r.result)) for r in result.results if not r.success]
        counted = rows if rows is not None else result.results[0].result.get("element_count", 0)
        return SuiteResult(suite_name, counted, len(result.results), failures)

    def docs_index(self) -> Path | None:
        return None if self._docs_dir is None else self._docs_dir / "index.html"


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return f"observed {result['observed_value']}"
    if result.get("unexpected_count"):
        examples = ", ".join(map(str, result.get("partial_unexpected_list", [])[:5]))
        return f"{result['unexpected_count']} of {result.get('element_count')} rows, e.g. {examples}"
    return str({k: v for k, v in result.items() if k != "details"})[:400]


def run_audit(settings: Settings, since: dt.datetime, until: dt.datetime, events_file: Path | None = None,
              decisions_file: Path | None = None, say: Callable[[str], None] = print) -> AuditReport:
    engine = migrate(settings.database_url)
    decisions_store, history = DecisionStore(engine), AuditLog(engine)
    now = dt.datetime.now(dt.UTC)

    say(f"learning drift bounds from {since - REFERENCE_WINDOW:%Y-%m-%d %H:%M} to {since:%Y-%m-%d %H:%M} UTC")
    reference = history.decisions_between(since - REFERENCE_WINDOW, since)
    bounds = suites.DriftBounds.learn(
        decision_table(_counted(reference, "reference decisions", say)),
        event_table(decisions_store.events_decided_between(since - REFERENCE_WINDOW, since), now))
    say("  " + (f"learned from {bounds.learned_from} decisions" if bounds.learned_from
                else f"fewer than {suites.MIN_REFERENCE} decisions there: default bounds"))

    events = (read_json_lines(events_file.read_text()) if events_file
              else _counted(decisions_store.events_decided_between(since, until), "events", say))
    decisions = (read_json_lines(decisions_file.read_text()) if decisions_file
                 else _counted(history.decisions_between(since, until), "decisions", say))
    decisions = [d if isinstance(d, dict) else {} for d in decisions]   # a line that is not JSON fails every check

    docs_dir = settings.home / "datadocs"
    validator = Validator(docs_dir)
    results = [
        validator.frame("clip_generated", suites.clip_events(bounds), event_table(events, now)),
        validator.frame("decision_log", suites.decision_log(bounds), decision_table(decisions)),
        validator.query("registry_claims", suites.registry_claims(), settings.database_url, CLAIM_REFERENCE_COUNTS),
        validator.query("registry_cameos", suites.registry_cameos(), settings.database_url, CAMEO_PHOTO_COUNTS),
        validator.frame("registry_citations", suites.registry_citations(),
                        claim_citation_table(decisions_store.standing(("review", "block", "takedown")),
                                             ClaimStore(engine).statuses())),
    ]
    failures = [f for r in results for f in r.failures]
    if failures:
        AlertStore(engine).raise_alerts(failures, f"{since.isoformat()}/{until.isoformat()}")
    return AuditReport(results, validator.docs_index(), bounds)


def _counted(rows: Any, what: str, say: Callable[[str], None], every: int = 10_000) -> list[Any]:
    """Materialise a stream of rows, saying how far it got on long windows."""
    out = []
    for row in rows:
        out.append(row)
        if len(out) % every == 0:
            say(f"  read {len(out)} {what}...")
    say(f"  read {len(out)} {what}")
    return out
