"""Puts one decision on `moderation.decisions` and waits for the broker: analysts and retroscan
write through it, beside the gate's own batched sink."""

from __future__ import annotations

import threading

from kafka import KafkaProducer

from clipguard.core.config import TOPIC_DECISIONS
from clipguard.core.contracts import Decision

SEND_TIMEOUT_S = 10.0


class DecisionPublisher:
    """Sends one decision and waits until the broker has it; raises KafkaError if it does not."""

    def __init__(self, bootstrap: str):
        self._bootstrap = bootstrap
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def __call__(self, decision: Decision) -> None:
        future = self._connected().send(TOPIC_DECISIONS, key=decision.clip_id.encode(), value=decision.to_json())
        future.get(timeout=SEND_TIMEOUT_S)

    def _connected(self) -> KafkaProducer:
        # Connected on first use, so the console serves pages while Kafka is down.
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(bootstrap_servers=self._bootstrap, acks="all",
                                               max_block_ms=int(SEND_TIMEOUT_S * 1000))
            return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
