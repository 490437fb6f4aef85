"""Starting a retroscan, the step that follows a takedown claim or a narrowed cameo permission.

The scan itself is a Beam batch pipeline (`clipguard retroscan`, pipelines/retroscan.py). A door
chooses only whether to wait for it: the CLI runs it and prints what it took down, the API starts
it in its own process (a batch job should not share the API's event loop or memory). Either way
the same use case decides that a retroscan follows, and notes that it started.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from clipguard.core.config import Settings

# A door's way to run `clipguard retroscan` with these arguments: now, or in the background.
Retroscan = Callable[..., None]


def in_background(settings: Settings) -> Retroscan:
    """`clipguard retroscan ARGS` in its own process; its output goes to $CLIPGUARD_HOME/retroscan.log."""

    def start(*args: str) -> None:
        settings.ensure_home()
        with (settings.home / "retroscan.log").open("ab") as log:
            subprocess.Popen([sys.executable, "-m", "clipguard", "retroscan", *args], env=settings.to_env(),
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    return start
