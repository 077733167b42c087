"""App config for wallets: where the ledger's after-posting listeners are wired, once, at start-up."""

from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"

    def ready(self):
        # The ledger core announces each posting through wallets.ledger.hooks and knows nothing of
        # what follows. In this order: the alert state and webhook events (same transaction), then
        # the auto top-up queued after commit (the order the ledger called them in before it had hooks).
        from wallets import tasks
        from wallets.ledger import hooks
        from wallets.services import after_posting

        hooks.listen(after_posting.record_posting)
        hooks.listen(tasks.queue_auto_top_up)
