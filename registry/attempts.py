"""Decode attempts, so an event that kills the gate cannot kill it forever.

Offsets are committed only after decisions are written, so an event whose decode crashes the
process (a native fault in a decoder, a kill for memory) is read again by the restarted gate, and
crashes it again. Every decode is bracketed here: `begin` counts an attempt before the decode
starts, `end` forgets it once the decode has finished either way. A count that survives is a
decode the process did not live through; past `POISON_AFTER` of those the event is set aside.

Decodes run one clip at a time, so a surviving count points at the one event being decoded, not
at its neighbours in a batch.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from clipguard.core.contracts import utcnow
from registry.models import DecodeAttemptRow

POISON_AFTER = 3


class DecodeAttempts:
    def __init__(self, engine: Engine):
        self._engine = engine

    def begin(self, topic: str, partition: int, offset: int, clip_id: str) -> int:
        """Count one more attempt at this record's decode; how many there have now been."""
        with Session(self._engine) as session, session.begin():
            row = session.get(DecodeAttemptRow, (topic, partition, offset))
            if row is None:
                row = DecodeAttemptRow(topic=topic, partition=partition, offset=offset, clip_id=clip_id[:128],
                                       attempts=0)
                session.add(row)
            row.attempts += 1
            row.last_at = utcnow()
            return row.attempts

    def end(self, topic: str, partition: int, offset: int) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(DecodeAttemptRow).where(DecodeAttemptRow.topic == topic,
                                                           DecodeAttemptRow.partition == partition,
                                                           DecodeAttemptRow.offset == offset))
