"""The bank family: does a clip's file, a frame or the whole clip match a hash in a shared bank
of known harmful content (MD5, PDQ, vPDQ in python-threatexchange's formats)?"""

from __future__ import annotations

from classifiers.bank.rule import bank_rule, check_bank_policy
from classifiers.bank.view import bank_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily

# threatexchange's PDQ and vPDQ match rules, as a policy states them unless it says otherwise.
DEFAULT_SECTION = {"pdq_distance": 31,
                   "vpdq": {"distance": 31, "quality": 50, "query_match_percent": 80, "compared_match_percent": 0}}


def _handler(context: HandlerContext) -> Handler:
    from classifiers.bank.handler import BankHandler
    from classifiers.bank.index import VpdqBars

    # The index finds hits within the widest bars any policy judging these signals uses.
    sections = context.policy_sections.get(SignalFamily.BANK) or (DEFAULT_SECTION,)
    return BankHandler(context.banks, max(s["pdq_distance"] for s in sections), VpdqBars.widest(sections),
                       max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"bank": "example-bank", "entry_id": 1, "signal_type": "pdq", "label": "", "source_id": "",
                "action": "block", "report": True, "pdq_threshold": None, "distance": 4.0, "hash": "0" * 64,
                "entry_hash": "0" * 63 + "f", "frame": 0, "t": 0.0}
    return Signal(SignalFamily.BANK, "md5+pdq+vpdq", "example",
                  ok=True, findings=(Finding("frame 0's PDQ is 4 bits from entry 1 of bank 'example-bank'",
                                             0.9844, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.BANK,
    summary="the file's MD5, the frames' PDQ and the clip's vPDQ against the enabled hash banks",
    order=0,
    reasons={ReasonKind.BANK: 5},
    handler=_handler,
    rule=bank_rule,
    check_policy=check_bank_policy,
    view=bank_view,
    example=_example,
    example_policy=DEFAULT_SECTION,
    bench=("banks", "bench.banks:run_bank_bench"),
    withholds_frames=True,
)
