"""The default periodic tasks: what runs, and how often, unless staff change it in the admin.

Every periodic task here is a sweep that reads what is due from the database, so running one
twice, late, or after Redis lost its queue is harmless: it redoes only what is still due.
"""

from django.conf import settings


def default_schedules() -> list[dict]:
    return [
        {
            "name": "Expire credits past their expiry date",
            "task": "wallets.tasks.credits_expire_sweep_task",
            "every_seconds": settings.CREDIT_EXPIRY_INTERVAL_SECONDS,
        },
        {
            "name": "Auto top-up wallets at or under their threshold",
            "task": "wallets.tasks.auto_top_up_sweep_task",
            "every_seconds": 5 * 60,
        },
        {
            "name": "Unfreeze wallets whose freeze has ended",
            "task": "wallets.tasks.wallets_unfreeze_due_task",
            "every_seconds": 60,
        },
        {
            "name": "Release holds past their expiry",
            "task": "wallets.tasks.holds_expire_sweep_task",
            "every_seconds": 60,
        },
        {
            "name": "Remind of credits expiring soon (wallet.credits.expiring)",
            "task": "wallets.tasks.credit_expiry_reminders_task",
            "every_seconds": 15 * 60,
        },
        {
            "name": "Deliver due webhooks (retries and lost messages)",
            "task": "webhooks.tasks.webhooks_deliver_due_task",
            "every_seconds": 60,
        },
    ]
