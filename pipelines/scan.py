"""`clipguard scan`: the gate's `Moderate` chain over local files, without Kafka.

Each file's clip_id is its name without extension. Decisions come back in argument order.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import apache_beam as beam

from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated, isoformat, utcnow
from media.sampling import uri_path
from pipelines.moderate import ClipWork, Decided, Moderate, default_handlers
from pipelines.runners import IN_PROCESS
from registry.db import migrate
from usecases.policy_files import load_policy


class _AppendJson(beam.DoFn):
    def __init__(self, path: str):
        self._path = path

    def process(self, decided: Decided) -> None:
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(decided.decision.to_dict(), sort_keys=True) + "\n")


def scan_events(paths: Sequence[Path], creator_id: str, prompt: str | None,
                cameo_ids: Sequence[str]) -> list[ClipGenerated]:
    now = isoformat(utcnow())
    return [ClipGenerated(clip_id=p.stem, creator_id=creator_id, media_uri=p.resolve().as_uri(),
                          created_at=now, prompt=prompt, cameo_ids=tuple(cameo_ids)) for p in paths]


def scan(settings: Settings, events: Sequence[ClipGenerated], policy_path: str | None = None,
         max_batch_size: int = 8) -> list[dict]:
    """Moderate `events` synchronously; returns decision dicts in the order of `events`."""
    migrate(settings.database_url)
    # Paths named on the command line are the user's own: their folders are the roots here.
    roots = sorted({Path(uri_path(e.media_uri)).resolve().parent for e in events})
    settings = replace(settings, media_roots=tuple(roots))
    started = time.time()
    works = [ClipWork(e, started, {"path": e.media_uri}) for e in events]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "decisions.jsonl"
        out.touch()
        with beam.Pipeline(options=IN_PROCESS.options(streaming=False)) as pipeline:
            (pipeline
             | "Clips" >> beam.Create(works)
             | "Moderate" >> Moderate(default_handlers(settings, max_batch_size), load_policy(policy_path),
                                      settings.media_roots, settings.media)
             | "Collect" >> beam.ParDo(_AppendJson(str(out))))
        decided = {d["clip_id"]: d for d in map(json.loads, out.read_text().splitlines())}
    return [decided[e.clip_id] for e in events]
