"""`clipguard scan`: the gate's `Moderate` chain over local files, without Kafka.

Decisions come back in the order of the files, each with the path it was made from
(`source_path`). A file that cannot even be decoded is reviewed, as it would be at the gate.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam

from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated, isoformat, parse_decision, utcnow
from pipelines.moderate import ClipWork, Decided, Moderate, default_handlers
from pipelines.runners import IN_PROCESS
from registry.banks import BankStore, bank_matches
from registry.db import migrate
from usecases.policy_files import live_policy
from usecases.scan_files import ScanFile

# Told how many files are decided so far, about once a second while the pipeline runs.
Progress = Callable[[int], None]
PROGRESS_EVERY_S = 1.0


class _AppendJson(beam.DoFn):
    def __init__(self, path: str):
        self._path = path

    def process(self, decided: Decided) -> None:
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(decided.decision.to_dict(), sort_keys=True) + "\n")


def scan(settings: Settings, files: Sequence[ScanFile], creator_id: str, prompt: str | None = None,
         cameo_ids: Sequence[str] = (), policy_path: str | None = None, progress: Progress | None = None,
         max_batch_size: int = 8, attrs: Mapping[str, Any] | None = None) -> list[dict]:
    """Moderate `files` synchronously, as clips `creator_id` generated with the event `attrs`;
    returns their decision dicts in the order of `files`, each with its file's `source_path`."""
    engine = migrate(settings.database_url)
    # Paths named on the command line are the user's own: their folders are the roots here.
    resolved = [f.path.resolve() for f in files]
    settings = replace(settings, media_roots=tuple(sorted({path.parent for path in resolved})))
    now, started = isoformat(utcnow()), time.time()
    events = [ClipGenerated(clip_id=f.clip_id, creator_id=creator_id, media_uri=path.as_uri(), created_at=now,
                            prompt=prompt, cameo_ids=tuple(cameo_ids), attrs=dict(attrs or {}))
              for f, path in zip(files, resolved, strict=True)]
    works = [ClipWork(e, started, {"path": e.media_uri}) for e in events]
    policy = live_policy(settings.database_url, policy_path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "decisions.jsonl"
        out.touch()
        with _reporting(out, progress):
            with beam.Pipeline(options=IN_PROCESS.options(streaming=False)) as pipeline:
                (pipeline
                 | "Clips" >> beam.Create(works)
                 | "Moderate" >> Moderate(default_handlers(settings, max_batch_size, (policy,)), policy,
                                          settings.media_roots, settings.media)
                 | "Collect" >> beam.ParDo(_AppendJson(str(out))))
        decided = {d["clip_id"]: d for d in map(json.loads, out.read_text().splitlines())}
    # A bank hit is recorded, and reported where the bank must report, however it was found.
    BankStore(engine).record_matches(m for d in decided.values()
                                     for m in bank_matches(parse_decision(json.dumps(d).encode())))
    return [{**decided[f.clip_id], "source_path": str(f.path)} for f in files]


@contextmanager
def _reporting(out: Path, progress: Progress | None) -> Iterator[None]:
    """While the pipeline runs, count the decisions it has written and tell `progress`, and once
    more at the end. The decisions file is the one place every worker writes, so counting its
    lines counts them all."""
    if progress is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        last = 0
        while not done.wait(PROGRESS_EVERY_S):
            if (count := _lines(out)) != last:
                progress(count)
                last = count

    watcher = threading.Thread(target=watch, name="scan-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        progress(_lines(out))


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")
