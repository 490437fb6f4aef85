"""`clipguard scan`: the gate's `Moderate` chain over local files, without Kafka.

Decisions come back in the order of the files, each with the path it was made from
(`source_path`). A file that cannot even be decoded is reviewed, as it would be at the gate.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import apache_beam as beam

from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated, isoformat, utcnow
from pipelines.moderate import ClipWork, Decided, Moderate, default_handlers
from pipelines.runners import IN_PROCESS
from registry.db import migrate
from usecases.policy_files import load_policy
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
         max_batch_size: int = 8) -> list[dict]:
    """Moderate `files` synchronously, as clips `creator_id` generated; returns their decision
    dicts in the order of `files`, each with its file's `source_path`."""
    migrate(settings.database_url)
    # Paths named on the command line are the user's own: their folders are the roots here.
    settings = replace(settings, media_roots=tuple(sorted({f.path.resolve().parent for f in files})))
    now, started = isoformat(utcnow()), time.time()
    events = [ClipGenerated(clip_id=f.clip_id, creator_id=creator_id, media_uri=f.path.resolve().as_uri(),
                            created_at=now, prompt=prompt, cameo_ids=tuple(cameo_ids)) for f in files]
    works = [ClipWork(e, started, {"path": e.media_uri}) for e in events]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "decisions.jsonl"
        out.touch()
        with _reporting(out, progress):
            with beam.Pipeline(options=IN_PROCESS.options(streaming=False)) as pipeline:
                (pipeline
                 | "Clips" >> beam.Create(works)
                 | "Moderate" >> Moderate(default_handlers(settings, max_batch_size), load_policy(policy_path),
                                          settings.media_roots, settings.media)
                 | "Collect" >> beam.ParDo(_AppendJson(str(out))))
        decided = {d["clip_id"]: d for d in map(json.loads, out.read_text().splitlines())}
    return [{**decided[f.clip_id], "source_path": str(f.path)} for f in files]


class _reporting:
    """While the pipeline runs, count the decisions it has written and tell `progress`. The
    decisions file is the one place every worker writes, so counting its lines counts them all."""

    def __init__(self, out: Path, progress: Progress | None):
        self._out, self._progress = out, progress
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="scan-progress", daemon=True)

    def __enter__(self) -> None:
        if self._progress:
            self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._progress:
            self._thread.join()
            self._progress(self._count())

    def _watch(self) -> None:
        last = 0
        while not self._done.wait(PROGRESS_EVERY_S):
            if (count := self._count()) != last:
                self._progress(count)
                last = count

    def _count(self) -> int:
        return self._out.read_bytes().count(b"\n")
