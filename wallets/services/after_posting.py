"""What the services do after every ledger posting, in the posting's own transaction.

A listener of wallets.ledger.hooks (added by WalletsConfig.ready): it brings the wallet's alert
state up to date (wallets.services.alerts) and writes one webhook event per ledger row
(wallets.services.events), so both exist exactly when the posting commits.
"""

from wallets.ledger.hooks import Posted
from wallets.services import alerts, events


def record_posting(posted: Posted) -> None:
    if posted.balance_moved:
        alerts.record_alert_state(posted.wallet, now=posted.now, row=posted.rows[-1])
    event_type = events.TRANSACTION_CREATED if posted.created else events.TRANSACTION_UPDATED
    events.publish_transaction_events(posted.wallet, posted.rows, event_type)
