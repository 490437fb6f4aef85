"""Every closed vocabulary clipguard speaks, once. Members are `str`s, so they compare equal to,
and serialize as, the plain words the contracts and the database carry."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """Listed weakest first: a later verdict beats an earlier one (takedown > block > review > allow)."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"
    TAKEDOWN = "takedown"


class Source(StrEnum):
    """Who made a decision. `owner`: a person seen in the clip asked for its removal."""

    GATE = "gate"
    RETROSCAN = "retroscan"
    ANALYST = "analyst"
    OWNER = "owner"


class SignalFamily(StrEnum):
    """The families clipguard ships (classifiers/<family>/). A plugin family may use its own name:
    everything that loops over families reads their manifests, not this list."""

    CHARACTER = "character"
    FACES = "faces"
    EXPLICIT = "explicit"
    LINEAGE = "lineage"
    PROVENANCE = "provenance"
    BANK = "bank"
    MUSIC = "music"
    VOICE = "voice"


class ReasonKind(StrEnum):
    """What a decision's reason is about (the contract's `reasons[].signal`)."""

    EXPLICIT = "explicit"
    LIKENESS = "likeness"       # a public figure's face or voice without their consent
    CONSENT = "consent"         # a cameo owner's face or voice, where the owner does not permit the creator
    CHARACTER = "character"     # a claimed visual work
    MUSIC = "music"
    PROVENANCE = "provenance"   # a missing, invalid or untrusted C2PA manifest where one is expected
    MEDIA = "media"             # the clip could not be read
    LINEAGE = "lineage"         # a remix of a clip that is blocked or was taken down
    BANK = "bank"               # a hash in a shared bank of known harmful content


class ClaimAction(StrEnum):
    """What a rights holder's claim asks for when a clip matches it."""

    REVIEW = "review"
    BLOCK = "block"
    TAKEDOWN = "takedown"


class BankSignalType(StrEnum):
    """Hash kinds a bank holds, named as python-threatexchange names its signal types (its
    `video_md5` and `video_sha256` are read as `md5` and `sha256`)."""

    PDQ = "pdq"
    VPDQ = "vpdq"
    MD5 = "md5"
    SHA256 = "sha256"


class Permission(StrEnum):
    """Whom a cameo owner lets use their face."""

    ONLY_ME = "only_me"
    APPROVED = "approved"
    MUTUALS = "mutuals"
    EVERYONE = "everyone"


class Role(StrEnum):
    PLATFORM = "platform"
    RIGHTS_HOLDER = "rights_holder"
    CAMEO_OWNER = "cameo_owner"
    ANALYST = "analyst"
    ADMIN = "admin"


class AnalystAction(StrEnum):
    """What an analyst may decide on a review item (escalating is not a decision)."""

    ALLOW = "allow"
    BLOCK = "block"
    TAKEDOWN = "takedown"


# What an analyst may do with an item: decide it, or hand it up to an admin.
ItemAction = StrEnum("ItemAction", {**{a.name: a.value for a in AnalystAction}, "ESCALATE": "escalate"})


class ItemKind(StrEnum):
    """Kinds of analyst work in the review queue."""

    REVIEW = "review"
    REMOVAL_REQUEST = "removal_request"
    DISPUTE = "dispute"


def words(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The vocabulary's plain words, in declaration order."""
    return tuple(member.value for member in vocabulary)


class RunnerName(StrEnum):
    """Where a Beam pipeline runs (pipelines/runners.py)."""

    INPROCESS = "inprocess"
    FLINK = "flink"


class BrokerEngine(StrEnum):
    """The Kafka-protocol brokers `clipguard broker` starts (clipguard/app/broker.py)."""

    TANSU = "tansu"
    KAFKA = "kafka"


class ClipIdFrom(StrEnum):
    """How `clipguard scan` names a file's clip (clipguard/core/clip_ids.py)."""

    NAME = "name"
    HASH = "hash"
