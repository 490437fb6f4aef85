"""The gate's writes ride out a short registry or broker outage and fail at once on anything else."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from registry.outages import through_outages


def _failing(errors: list[Exception]):
    def write() -> str:
        if errors:
            raise errors.pop(0)
        return "written"
    return write


def _down() -> OperationalError:
    return OperationalError("INSERT ...", {}, ConnectionRefusedError("connection refused"))


def test_a_write_is_tried_again_while_the_registry_is_unreachable():
    waits: list[float] = []
    assert through_outages(_failing([_down(), _down(), _down()]), "testing", sleep=waits.append) == "written"
    assert waits == [0.5, 1.0, 2.0]


def test_other_errors_and_long_outages_are_raised():
    with pytest.raises(IntegrityError):
        through_outages(_failing([IntegrityError("INSERT ...", {}, ValueError("duplicate"))]), "testing",
                        sleep=lambda s: None)
    waits: list[float] = []
    with pytest.raises(OperationalError):
        through_outages(_failing([_down()] * 50), "testing", limit_s=5.0, sleep=waits.append)
    assert sum(waits[:-1]) < 5.0 <= sum(waits)


def test_an_offset_commit_rides_out_a_broker_outage_but_not_a_refused_commit():
    from kafka.errors import CommitFailedError, KafkaConnectionError

    from pipelines.kafka_io import broker_unreachable

    waits: list[float] = []
    down = [KafkaConnectionError("111 ECONNREFUSED")] * 3
    committed = through_outages(_failing(down), "committing", sleep=waits.append, unreachable=broker_unreachable)
    assert committed == "written"
    assert len(waits) == 3
    with pytest.raises(CommitFailedError):      # the group moved on: retrying would commit stale offsets
        through_outages(_failing([CommitFailedError("rebalanced")]), "committing", sleep=waits.append,
                        unreachable=broker_unreachable)
    with pytest.raises(KafkaConnectionError):   # a registry outage's rule does not cover the broker's
        through_outages(_failing([KafkaConnectionError("down")]), "committing", sleep=waits.append)
