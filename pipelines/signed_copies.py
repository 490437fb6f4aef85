"""The gate's `--sign-decisions`: after a clip's outcome is written, its decision is signed into
a C2PA copy of the clip under the signed folder (usecases/signing.py).

Only `allow` decisions by default: those are the clips the feed shows, and a copy of a blocked
clip would be one more copy of what was blocked. `clipguard sign` signs any decision on demand.
A copy that cannot be signed is logged and counted; it never holds up the gate."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apache_beam as beam

from clipguard.core.config import Settings
from pipelines import metrics
from pipelines.moderate import Decided, Rejected
from usecases.signing import sign_decision, signing_key

log = logging.getLogger(__name__)


class SignDecisions(beam.DoFn):
    def __init__(self, settings: Settings, verdicts: Sequence[str] = ("allow",)):
        self._settings = settings
        self._verdicts = tuple(verdicts)

    def setup(self) -> None:
        self._key = signing_key(self._settings)
        self._folder = self._settings.signed_folder

    def process(self, outcome: Decided | Rejected) -> None:
        if not isinstance(outcome, Decided) or outcome.decision.verdict not in self._verdicts:
            return
        clip = outcome.clip
        if clip is None or clip.path is None:
            metrics.SIGNED.labels("no_media").inc()
            return
        try:
            sign_decision(outcome.decision.to_dict(), clip.path, self._folder, self._key)
        except Exception:
            log.exception("could not sign the decision on clip %s", outcome.decision.clip_id)
            metrics.SIGNED.labels("failed").inc()
        else:
            metrics.SIGNED.labels("signed").inc()
