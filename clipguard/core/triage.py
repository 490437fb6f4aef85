"""How urgent analyst work is: severity by what is at stake, and a deadline per kind of item.
The policy engine gives a review its severity; the registry stores it with the item.

The review queue orders by severity first, then by how close each item is to its deadline, so
an old low-stakes review does not starve a fresh removal request, and vice versa within a level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from clipguard.core import families

# Time to first action. A person asking for their face to be removed waits least.
SLA: Mapping[str, dt.timedelta] = {
    "review": dt.timedelta(hours=4),
    "removal_request": dt.timedelta(hours=1),
    "dispute": dt.timedelta(hours=24),
}
# Removal requests are harm to a person; disputes are about a creator's own clip.
KIND_SEVERITY: Mapping[str, int] = {"removal_request": 4, "dispute": 2}
# Reasons the engine itself gives rather than a family: a clip we could not read at all is
# unknown rather than harmless.
ENGINE_REASON_SEVERITY: Mapping[str, int] = {"media": 2}
DEFAULT_SEVERITY = 1


def review_severity(deciding: Sequence[str]) -> int:
    """The severity of a `review`: that of the most serious reason kind among those that set the
    verdict. Each kind's severity comes from the family that emits it (its manifest)."""
    return max((ENGINE_REASON_SEVERITY.get(kind) or families.reason_severity(kind, DEFAULT_SEVERITY)
                for kind in deciding), default=DEFAULT_SEVERITY)
