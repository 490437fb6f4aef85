"""Remix lineage: each clip's `remix_of` parent (recorded with its decision), walked downwards
when a clip is taken down, so that its remixes are re-checked too.

The walk is breadth-first, visits a clip once, and stops after MAX_GENERATIONS: an event's
`remix_of` is whatever a client sent, so a chain may loop back on itself or run absurdly deep,
and neither may hang a takedown."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from registry.models import DecisionRow, RemixEdgeRow

log = logging.getLogger("clipguard.lineage")
MAX_GENERATIONS = 64
READ_BATCH = 500      # parent ids per query (SQL parameter limits)


@dataclass(frozen=True)
class Descendant:
    clip_id: str
    parent_id: str
    generation: int       # 1: a remix of a root, 2: a remix of that, ...
    root_id: str          # the taken-down clip it descends from


@dataclass(frozen=True)
class Relative:
    """A parent or child of a clip, with its current verdict (None: not decided yet)."""

    clip_id: str
    verdict: str | None


class Lineage:
    def __init__(self, engine: Engine):
        self._engine = engine

    def descendants(self, roots: Iterable[str], max_generations: int = MAX_GENERATIONS) -> Iterator[Descendant]:
        """Every remix of `roots`, of their remixes, and so on, each once, nearest first."""
        seen = set(roots)
        frontier = {clip_id: clip_id for clip_id in seen}          # clip -> the root it descends from
        for generation in range(1, max_generations + 1):
            below: dict[str, str] = {}
            for child, parent in self._children(list(frontier)):
                if child not in seen:
                    seen.add(child)
                    below[child] = frontier[parent]
                    yield Descendant(child, parent, generation, frontier[parent])
            frontier = below
            if not frontier:
                return
        if self._children(list(frontier)):
            log.error("remix lineage deeper than %d generations below %s; the walk stopped there",
                      max_generations, sorted(frontier)[:5])

    def _children(self, parents: list[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        with Session(self._engine) as session:
            for start in range(0, len(parents), READ_BATCH):
                batch = parents[start:start + READ_BATCH]
                found += session.execute(select(RemixEdgeRow.clip_id, RemixEdgeRow.parent_id)
                                         .where(RemixEdgeRow.parent_id.in_(batch))
                                         .order_by(RemixEdgeRow.clip_id)).all()
        return [tuple(row) for row in found]

    def family(self, clip_id: str) -> tuple[Relative | None, list[Relative]]:
        """A clip's parent and children, with their current verdicts, for the console."""
        with Session(self._engine) as session:
            parent_id = session.scalar(select(RemixEdgeRow.parent_id).where(RemixEdgeRow.clip_id == clip_id))
            children = list(session.scalars(select(RemixEdgeRow.clip_id).where(RemixEdgeRow.parent_id == clip_id)
                                            .order_by(RemixEdgeRow.clip_id)))
            ids = [*children, *([parent_id] if parent_id else [])]
            verdicts = dict(session.execute(select(DecisionRow.clip_id, DecisionRow.verdict)
                                            .where(DecisionRow.clip_id.in_(ids))).all())
        parent = Relative(parent_id, verdicts.get(parent_id)) if parent_id else None
        return parent, [Relative(c, verdicts.get(c)) for c in children]
