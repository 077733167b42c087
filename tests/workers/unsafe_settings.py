"""A deliberately broken build for negative controls that run in a worker subprocess.

The production settings with the wallet lock switched off (LEDGER_UNSAFE_SKIP_WALLET_LOCK, see
billing/settings.py). Only tests/workers/test_duplicate_beat.py's negative control uses it.
"""

from billing.settings import *  # noqa: F403

LEDGER_UNSAFE_SKIP_WALLET_LOCK = True
