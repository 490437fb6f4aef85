"""Data-quality audits (Great Expectations suites kept as code) over events, decisions and the registry."""

import os

# Great Expectations would otherwise try to send usage statistics; these machines are offline.
# Set here, before any module of this package imports it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
