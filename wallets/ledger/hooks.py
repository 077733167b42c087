"""The one door side effects leave the ledger core by: the listeners told of every posting.

The ledger core imports no Celery, no webhooks and no alert rules. After each posting it builds
a ``Posted`` and hands it to every listener, in the order they were added, inside the posting's
transaction and under the wallet's lock. What follows a posting is the listeners' business:
wallets.services.after_posting records the alert state and writes the webhook events (in this
transaction, so they exist exactly when the posting committed), and wallets.tasks queues an auto
top-up once the transaction commits. WalletsConfig.ready (wallets/apps.py) adds them at start-up;
a new side effect of postings is one more listener added there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wallets.models import Wallet, WalletTransaction


@dataclass(frozen=True)
class Posted:
    """What a posting wrote: ``wallet`` as it stands after ``rows``, written at ``now``."""

    wallet: Wallet
    rows: list[WalletTransaction]
    now: datetime
    created: bool  # new rows; False: pending credits whose status changed
    balance_moved: bool  # False for a pending credit that failed: no balance changed


Listener = Callable[[Posted], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Tell ``listener`` of every posting from now on (once, however often it is added)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(posted: Posted) -> None:
    """Called by wallets.ledger.postings after each posting."""
    for listener in _listeners:
        listener(posted)
