import json

import pytest

from clipguard.core.contracts import (
    ContractError,
    DeadLetter,
    Decision,
    Reason,
    parse_clip_generated,
    parse_decision,
    strongest,
)

VALID = {"schema": "clip.generated/1", "clip_id": "c-1", "creator_id": "alice", "media_uri": "file:///m/c.mp4",
         "prompt": "a cat", "cameo_ids": ["bob"], "remix_of": None, "created_at": "2026-11-21T10:00:00Z",
         "attrs": {"surface": "feed"}}


def encode(body) -> bytes:
    return json.dumps(body).encode()


def test_a_valid_event_parses_with_every_field():
    event = parse_clip_generated(encode(VALID))
    assert (event.clip_id, event.creator_id, event.cameo_ids, event.attrs) == ("c-1", "alice", ("bob",),
                                                                               {"surface": "feed"})
    assert parse_clip_generated(event.to_json()) == event


@pytest.mark.parametrize(("raw", "code"), [
    (b"", "not_json"),
    (b"\xff\xfe not utf8", "not_json"),
    (b"{not json", "not_json"),
    (b"[1, 2]", "not_object"),
    (encode({**VALID, "schema": "clip.generated/2"}), "wrong_schema"),
    (encode({k: v for k, v in VALID.items() if k != "creator_id"}), "missing_field"),
    (encode({**VALID, "surprise": 1}), "unknown_field"),
    (encode({**VALID, "clip_id": "x" * 129}), "bad_id"),
    (encode({**VALID, "clip_id": ""}), "bad_id"),
    (encode({**VALID, "clip_id": "../etc"}), "bad_id"),
    (encode({**VALID, "creator_id": 7}), "bad_id"),
    (encode({**VALID, "cameo_ids": ["ok", "not ok"]}), "bad_id"),
    (encode({**VALID, "cameo_ids": "bob"}), "bad_cameo_ids"),
    (encode({**VALID, "created_at": "yesterday"}), "bad_timestamp"),
    (encode({**VALID, "created_at": "2026-11-21T10:00:00"}), "bad_timestamp"),
    (encode({**VALID, "prompt": "p" * 4001}), "bad_prompt"),
    (encode({**VALID, "attrs": []}), "bad_attrs"),
    (encode({**VALID, "media_uri": ""}), "bad_media_uri"),
    (b" " * (1 << 20) + encode(VALID), "event_too_large"),
])
def test_each_broken_event_is_rejected_with_its_own_code(raw, code):
    with pytest.raises(ContractError) as caught:
        parse_clip_generated(raw)
    assert caught.value.code == code
    assert str(caught.value)


def test_an_id_of_exactly_128_chars_is_accepted():
    assert parse_clip_generated(encode({**VALID, "clip_id": "a" * 128})).clip_id == "a" * 128


def test_precedence_is_takedown_block_review_allow():
    assert strongest(["allow", "takedown", "review", "block"]) == "takedown"
    assert strongest(["review", "allow"]) == "review"
    assert strongest([]) == "allow"


def test_decision_round_trips_through_json():
    decision = Decision("c-1", "block", (Reason("p@1/character.pdq", "character", "matches", 0.9, {"frame": 3}),),
                        "p@1", {"pdq+phash": "v"}, "2026-11-21T10:00:00.000Z", 12.5)
    assert parse_decision(decision.to_json()) == decision


def test_dead_letter_keeps_the_whole_payload():
    raw = b"\x00\x01 binary, not json"
    letter = DeadLetter.of("not_json", "nope", raw, {"partition": 1, "offset": 9})
    back = json.loads(letter.to_json())
    assert back["error_code"] == "not_json" and back["source"]["offset"] == 9
    assert DeadLetter(**back).payload() == raw
