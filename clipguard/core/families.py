"""Signal families as plugins, in python-threatexchange's shape: each family is one package,
`classifiers/<family>/`, whose `MANIFEST` says everything the rest of clipguard needs of it.

The gate, `scan`, the policy engine, retroscan, the review queue, the console and `bench` loop
over `registered()` and never name a family. Families register through the `clipguard.signals`
entry-point group (setup.py), so an installed package can add one; `register` adds one at run
time (tests, notebooks). docs/adding-a-signal.md walks through a new one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from clipguard.core.banks import BankSet
from clipguard.core.config import Settings
from clipguard.core.contracts import Reason
from clipguard.core.people import Gallery, Grant
from clipguard.core.signals import Signal

ENTRY_POINTS = "clipguard.signals"

# One family's judgement of its own findings: [(verdict, reason)] from the signal, the family's
# section of the policy, the policy's label and the clip's event attrs. The engine in policies/
# combines every family's pairs into the verdict (precedence, fail-closed) and builds the Decision.
Rule = Callable[[Signal, Mapping[str, Any], str, Mapping[str, Any]], list[tuple[str, Reason]]]


@dataclass(frozen=True)
class HandlerContext:
    """What a family's handler may read from outside itself, supplied by the pipeline that runs it."""

    settings: Settings
    claims: Callable[[], Any]                    # the active claims' catalog, re-read as it changes
    galleries: Callable[[str], Gallery]          # enrolled faces of one embedding model
    permits: Callable[[Grant, str, str], bool]   # the consent policy: (grant, owner, creator)
    # The current decisions of these clips (a remix's parents), by clip id; absent ones not decided.
    decisions: Callable[[list[str]], Mapping[str, Mapping[str, Any]]] = lambda _: {}
    max_batch_size: int = 8
    # Each family's sections in the live policy and every shadow, for a family whose measurement
    # depends on what a policy names (provenance verifies signers against the anchors they trust).
    policy_sections: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    # The enabled hash banks' entries, re-read as they change; none unless the pipeline says.
    banks: Callable[[], BankSet] = BankSet


class Handler(Protocol):
    """What the pipelines need of a family's handler (classifiers.base.SignalHandler implements it)."""

    name: str
    model_name: str


@dataclass(frozen=True)
class ScoreLine:
    """One measure of a reason beside the policy bar it is judged on, as the console shows it."""

    signal: str
    measure: str
    value: float
    bars: str


@dataclass(frozen=True)
class ReasonView:
    """What the console draws for one reason: marks and boxes on its frame, its scores, the
    claimed reference it matched, and the stretch of the soundtrack it heard, if any."""

    frame: int | None = None
    marks: tuple[str, ...] = ()
    # Regions as fractions of the frame (x, y, width, height), with a label.
    boxes: tuple[tuple[float, float, float, float, str], ...] = ()
    scores: tuple[ScoreLine, ...] = ()
    reference: tuple[str, str, str] | None = None     # (title, measure as shown, reference id)
    # The stretch of the soundtrack the reason is about, in clip seconds, with a label.
    heard: tuple[float, float, str] | None = None


# A family's console view of one of its reasons: (reason as a dict, the family's policy section or
# None when the loaded policy has none, the clip's attrs) -> what to draw, one view per frame the
# reason's findings were on.
View = Callable[[Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any]], list[ReasonView]]


@dataclass(frozen=True)
class SignalFamilyManifest:
    family: str                              # a SignalFamily value, or a plugin's own name
    summary: str
    order: int                               # place in the gate's chain; lower runs first
    reasons: Mapping[str, int]               # reason kinds it emits -> queue severity (higher first)
    handler: Callable[[HandlerContext], Handler]   # imports its model code only when called
    rule: Rule
    check_policy: Callable[[Mapping[str, Any]], None]   # its policy section; ValueError when wrong
    view: View
    example: Callable[[], Signal]            # a scored Signal that its rule and view accept
    example_policy: Mapping[str, Any] = field(default_factory=dict)   # a valid section for `example`
    # Its harness in `clipguard bench`: (suite name, "module:callable" taking Settings and the rounds of
    # each timed comparison, bench/compare.py), if any.
    bench: tuple[str, str] | None = None
    # A clip with one of this family's reasons keeps no frames for the console: what a hash bank
    # lists is not for an analyst's eyes.
    withholds_frames: bool = False

    @property
    def failure_severity(self) -> int:
        """A family that could not run might have missed its worst finding."""
        return max(self.reasons.values())


_registered: dict[str, SignalFamilyManifest] = {}
_loaded = False


def registered() -> list[SignalFamilyManifest]:
    """Every family, installed and registered, in chain order."""
    _load_entry_points()
    return sorted(_registered.values(), key=lambda m: (m.order, m.family))


def family(name: str) -> SignalFamilyManifest:
    _load_entry_points()
    try:
        return _registered[name]
    except KeyError:
        raise LookupError(f"no signal family {name!r}; registered: {', '.join(sorted(_registered))}") from None


def register(manifest: SignalFamilyManifest) -> None:
    _load_entry_points()
    _registered[manifest.family] = manifest


def unregister(name: str) -> None:
    _registered.pop(name, None)


def reason_severity(kind: str, default: int = 1) -> int:
    """Queue severity of a reason kind, from the family that emits it; a reason named after a
    family (its required signal failed) takes that family's failure severity."""
    for manifest in registered():
        if kind in manifest.reasons:
            return manifest.reasons[kind]
        if kind == manifest.family:
            return manifest.failure_severity
    return default


def resolve(target: str) -> Callable[..., Any]:
    """The callable a manifest names as "module:attribute"."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for point in entry_points(group=ENTRY_POINTS):
        manifest = point.load()
        _registered.setdefault(manifest.family, manifest)
