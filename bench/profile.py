"""`clipguard bench --suite gate --profile`: where a clip's CPU goes, stage by stage.

Each stage of the gate's chain runs on the gate bench's clips under pyinstrument, in this
process and outside Beam (a profiler sees only its own thread, and Beam's runner would hide the
stages behind its own frames): decoding and sampling (with each frame's PDQ, hashed once for two
families as LoadMedia does), then each family's handler scoring the sampled clips one at a time,
as the gate's batches of one do under light load. Time spent in native code (FFmpeg, dlib,
onnxruntime, OpenCV) is charged to the native function, or the Python one that called it. A
family that spreads its work over a thread pool (faces) runs it on the profiled thread instead,
so its figure is its one-thread cost, not its wall time in the gate.

The profile is written whole to `$CLIPGUARD_HOME/bench/gate-profile/<stage>.txt`; the top lines
by self time, per stage, are printed."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bench.results import say
from classifiers.pdq import with_pdq
from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from media.sampling import sample_frames
from pipelines.moderate import default_handlers
from registry.db import migrate
from usecases.policy_files import live_policy

TOP = 10
INTERVAL_S = 0.001


class InThread:
    """An executor's `map` on the calling thread: pyinstrument sees only the thread it started on."""

    map = staticmethod(map)


@dataclass(frozen=True)
class Line:
    where: str          # function and file:line
    self_ms: float      # per clip
    share: float        # of the stage's time


def profile_stages(settings: Settings, clips: list[Path]) -> dict[str, list[Line]]:
    """The top lines by self time of each stage, per clip; every profile written under the bench folder."""
    migrate(settings.database_url)
    folder = settings.home / "bench" / "gate-profile"
    folder.mkdir(parents=True, exist_ok=True)
    stages: dict[str, list[Line]] = {}
    say(f"profiling decode + sampling on {len(clips)} clips")
    sampled = []
    stages["decode"] = _profiled(lambda: sampled.extend(with_pdq(sample_frames(p, settings.media)) for p in clips),
                                 len(clips), folder / "decode.txt")
    inputs = [ClipInput(ClipGenerated(f"profile-{i}", "bench", p.as_uri(), "2026-12-03T00:00:00Z"), clip)
              for i, (p, clip) in enumerate(zip(clips, sampled, strict=True))]
    policy = live_policy(settings.database_url, None)
    for handler in default_handlers(settings, 1, (policy,)):
        model = handler.load_model()
        if hasattr(model, "pool"):      # a family's thread pool (faces): its work moves onto this thread
            model.pool = InThread()
        handler.score(model, inputs[:1])        # warm: first calls build indexes and sessions
        say(f"profiling the {handler.name} family's scoring on {len(inputs)} clips")
        stages[handler.name] = _profiled(lambda h=handler, m=model: [h.score(m, [item]) for item in inputs],
                                         len(inputs), folder / f"{handler.name}.txt")
    return stages


def print_profile(stages: dict[str, list[Line]]) -> None:
    click.echo(f"gate profile, top {TOP} lines by self time per stage (ms per clip, share of the stage):")
    for stage, lines in stages.items():
        total = sum(line.self_ms for line in lines) / max(1e-9, sum(line.share for line in lines))
        click.echo(f"  {stage} ({total:.1f} ms per clip):")
        for line in lines:
            click.echo(f"    {line.self_ms:8.1f} {line.share:6.1%}  {line.where}")


def _profiled(run: Callable[[], object], clips: int, out: Path) -> list[Line]:
    profiler = Profiler(interval=INTERVAL_S)
    started = time.perf_counter()
    profiler.start()
    run()
    profiler.stop()
    elapsed = time.perf_counter() - started
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    root = profiler.last_session.root_frame()
    if root is None:
        return []
    self_time: dict[str, float] = defaultdict(float)
    for frame in _walk(root):
        # pyinstrument keeps a function's own time in a synthetic "[self]" child: charge it to the function.
        owner = frame.parent if frame.is_synthetic_leaf and frame.parent is not None else frame
        self_time[_where(owner)] += frame.time - sum(child.time for child in frame.children)
    total = sum(self_time.values()) or elapsed
    top = sorted(((w, t) for w, t in self_time.items() if t > 0), key=lambda kv: -kv[1])[:TOP]
    return [Line(where, seconds * 1000 / clips, seconds / total) for where, seconds in top]


def _walk(frame: Frame) -> Iterator[Frame]:
    yield frame
    for child in frame.children:
        yield from _walk(child)


def _where(frame: Frame) -> str:
    return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
