"""Indexes for the wallet-scoped transaction searches that leave the heap only for the page's rows.

A wallet's ledger rows are written over months, so each lies on its own heap page; a search that
filters or counts them on the heap reads ~100 pages for a wallet of 100 rows (benchmarks/RESULTS.md,
B4). The by-wallet index now ends in ``id`` (the search's tie-break) and includes the environment,
so counting a wallet's rows is an index-only scan; expiring-before and open-lot searches get
partial indexes holding only their rows.

The indexes are built CONCURRENTLY (a ledger of millions of rows keeps taking writes
while they build; the old by-wallet index is dropped first, the unique (wallet, sequence) index
serves meanwhile), and the ledger is vacuumed after fewer inserts than PostgreSQL's default
20% of the table, so the visibility map that index-only scans rely on stays current.
"""

from django.db import migrations, models
from django.db.models import Q

OLD_BY_WALLET = models.Index(fields=["wallet", "-created_at"], name="wtxn_wallet_created_idx")
NEW = [
    models.Index(fields=["wallet", "-created_at", "-id"], include=["environment"], name="wtxn_wallet_created_idx"),
    models.Index(
        fields=["wallet", "expiry_date"], include=["environment"], condition=Q(expiry_date__isnull=False),
        name="wtxn_wallet_expiry_idx",
    ),
    models.Index(
        fields=["wallet", "-created_at", "-id"], include=["environment"], condition=Q(credits_available__gt=0),
        name="wtxn_wallet_available_idx",
    ),
]
VACUUM_SOONER = "ALTER TABLE wallets_wallettransaction SET (autovacuum_vacuum_insert_scale_factor = 0.02)"
VACUUM_AS_DEFAULT = "ALTER TABLE wallets_wallettransaction RESET (autovacuum_vacuum_insert_scale_factor)"


def _replace(drop, create, table_setting):
    def run(apps, schema_editor):
        model = apps.get_model("wallets", "WalletTransaction")
        for index in drop:
            schema_editor.remove_index(model, index, concurrently=True)
        for index in create:
            schema_editor.add_index(model, index, concurrently=True)
        schema_editor.execute(table_setting)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("customers", "0001_initial"),
        ("tenancy", "0001_initial"),
        ("wallets", "0006_support_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="wallettransaction", name="wtxn_wallet_created_idx"),
                *(migrations.AddIndex(model_name="wallettransaction", index=index) for index in NEW),
            ],
            database_operations=[
                migrations.RunPython(
                    _replace([OLD_BY_WALLET], NEW, VACUUM_SOONER), _replace(NEW[::-1], [OLD_BY_WALLET], VACUUM_AS_DEFAULT)
                )
            ],
        )
    ]
