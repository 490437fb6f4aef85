"""The Kafka engine's own pieces."""

from clipguard.app.broker import kafka_cluster_id


def test_a_kafka_cluster_id_never_starts_like_an_option():
    # About 1 in 64 random ids starts with "-"; CI met one, and the storage tool refused it.
    ids = [kafka_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
