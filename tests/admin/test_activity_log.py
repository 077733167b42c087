"""The staff activity log: one row per staff action (refusals and repeats included), written in the
action's own transaction; read-only in the admin, filterable, exportable as CSV."""

import csv
import getpass
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from backoffice.models import StaffAction
from invoices.models import Invoice
from tenancy.models import ApiKey
from tests.admin.flows import apply, post_step
from wallets import services
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db
LOG_URL = "/admin/backoffice/staffaction/"
INVOICES_URL = "/admin/invoices/invoice/"


def only_entry(**filters) -> StaffAction:
    (entry,) = StaffAction.objects.filter(**filters)
    return entry


def test_top_up_is_logged_with_who_what_note_and_result(support, funded_wallet):
    apply(support, "top_up", [funded_wallet], credits="25", reason="FREE_CREDIT_GRANT", justification="Outage, ticket #1")

    entry = only_entry(kind="top_up")
    row = WalletTransaction.objects.get(wallet=funded_wallet, description="Outage, ticket #1")
    assert (entry.staff, entry.target_type, entry.target_id, entry.note, entry.outcome) == (
        "sam",
        "wallet",
        funded_wallet.pk,
        "Outage, ticket #1",
        "done",
    )
    assert f"Topped up 25 credits (FREE_CREDIT_GRANT), transaction {row.pk}" in entry.result


def test_manual_debit_is_logged(finance, funded_wallet):
    apply(finance, "debit", [funded_wallet], credits="30", justification="Double grant, ticket #17")

    entry = only_entry(kind="debit")
    assert (entry.staff, entry.note, entry.outcome) == ("fiona", "Double grant, ticket #17", "done")
    assert entry.result.startswith("Debited 30 credits")


def test_freeze_and_unfreeze_are_logged(support, funded_wallet):
    apply(support, "freeze", [funded_wallet], reason="Card reported stolen")
    apply(support, "unfreeze", [funded_wallet], reason="New card issued")

    freeze, unfreeze = only_entry(kind="freeze"), only_entry(kind="unfreeze")
    assert (freeze.note, freeze.outcome, freeze.result) == (
        "Card reported stolen",
        "done",
        "Frozen. Reason: Card reported stolen",
    )
    assert (unfreeze.note, unfreeze.outcome) == ("New card issued", "done")


def test_terminate_is_logged_with_the_forfeit(finance, funded_wallet):
    apply(finance, "terminate", [funded_wallet], reason="Customer left", confirmation="TERMINATE")

    entry = only_entry(kind="terminate")
    assert (entry.staff, entry.note, entry.outcome) == ("fiona", "Customer left", "done")
    assert "forfeited 100 credits" in entry.result


def test_a_refused_action_is_logged_with_its_refusal_and_writes_nothing_else(support, funded_wallet):
    services.wallet_freeze(funded_wallet, reason="check")
    rows = WalletTransaction.objects.filter(wallet=funded_wallet).count()

    apply(support, "top_up", [funded_wallet], credits="5", reason="FREE_CREDIT_GRANT", justification="Asked again")

    entry = only_entry(kind="top_up")
    assert (entry.outcome, entry.result, entry.note) == ("refused", "Wallet is frozen", "Asked again")
    assert WalletTransaction.objects.filter(wallet=funded_wallet).count() == rows


def test_a_repeated_submit_is_logged_as_repeated(support, funded_wallet):
    fields = {"credits": "5", "reason": "FREE_CREDIT_GRANT", "justification": "Goodwill"}
    apply(support, "top_up", [funded_wallet], **fields)
    post_step(support, "top_up", [funded_wallet], "apply", **fields)  # the same page submitted again

    assert list(StaffAction.objects.order_by("id").values_list("outcome", flat=True)) == ["done", "repeated"]


def test_the_action_and_its_log_row_commit_together(support, funded_wallet):
    """If the log row cannot be written, the top-up it describes is rolled back with it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_log() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'activity log unavailable'; END $$;"
            "CREATE TRIGGER test_refuse_log BEFORE INSERT ON backoffice_staffaction "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_log();"
        )
    rows = WalletTransaction.objects.filter(wallet=funded_wallet).count()

    with pytest.raises(DatabaseError, match="activity log unavailable"):
        apply(support, "top_up", [funded_wallet], credits="25", reason="FREE_CREDIT_GRANT", justification="Outage")

    assert WalletTransaction.objects.filter(wallet=funded_wallet).count() == rows
    assert Wallet.objects.get(pk=funded_wallet.pk).credit_balance == Decimal("100")


@pytest.fixture
def invoice(wallet):
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=Decimal("25"))
    return Invoice.objects.get(pk=result.invoice_id)


def _settle(client, action, invoice):
    return client.post(INVOICES_URL, {"action": action, helpers.ACTION_CHECKBOX_NAME: [invoice.pk], "confirm": "yes"})


def test_invoice_marked_paid_is_logged_and_paying_again_is_refused(finance, invoice):
    _settle(finance, "mark_paid", invoice)
    _settle(finance, "mark_paid", invoice)

    done, refused = StaffAction.objects.filter(kind="invoice_paid").order_by("id")
    assert (done.staff, done.target_type, done.target_id, done.outcome) == ("fiona", "invoice", invoice.pk, "done")
    assert done.result == f"Invoice {invoice.invoice_number} marked paid"
    assert (refused.outcome, refused.result) == ("refused", "The invoice is already paid")


def test_invoice_void_is_logged(finance, invoice):
    _settle(finance, "void", invoice)

    entry = only_entry(kind="invoice_voided")
    assert (entry.target_id, entry.outcome, entry.result) == (invoice.pk, "done", f"Invoice {invoice.invoice_number} voided")


def test_api_key_changes_are_logged_with_the_operator(environment, capsys):
    operator = f"cli:{getpass.getuser()}"
    call_command("create_api_key", tenant="acme", environment="live", name="billing sync")
    key = ApiKey.objects.get(name="billing sync")
    call_command("rotate_api_key", key.pk)
    replacement = ApiKey.objects.get(name="billing sync", revoked_at__isnull=True)
    call_command("revoke_api_key", replacement.pk)

    created, rotated, revoked = StaffAction.objects.order_by("id")
    assert (created.kind, created.staff, created.target_id, created.note) == ("api_key_created", operator, key.pk, "billing sync")
    assert (rotated.kind, rotated.target_id, rotated.outcome) == ("api_key_rotated", key.pk, "done")
    assert replacement.pk in rotated.result
    assert (revoked.kind, revoked.target_type, revoked.target_id) == ("api_key_revoked", "apikey", replacement.pk)


@pytest.fixture
def logged_actions(support, finance, funded_wallet):
    apply(support, "freeze", [funded_wallet], reason='=HYPERLINK("http://evil")')
    apply(finance, "unfreeze", [funded_wallet], reason="Resolved")
    StaffAction.objects.filter(kind="freeze").update(created_at=timezone.now() - timedelta(days=40))


def test_the_log_is_read_only_and_filters_by_staff_and_date(superuser_client, logged_actions):
    page = superuser_client.get(LOG_URL)
    assert page.status_code == 200
    assert "Add staff action" not in page.content.decode()
    entry = StaffAction.objects.first()
    assert superuser_client.post(f"{LOG_URL}{entry.pk}/delete/").status_code == 403

    by_sam = superuser_client.get(LOG_URL, {"staff": "sam"}).context["cl"].result_list
    assert [row.kind for row in by_sam] == ["freeze"]
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    today = superuser_client.get(LOG_URL, {"created_at__gte": str(midnight)}).context["cl"].result_list
    assert [row.staff for row in today] == ["fiona"]


def test_the_log_exports_its_filtered_rows_as_csv_with_formulas_neutralised(superuser_client, logged_actions):
    response = superuser_client.get(f"{LOG_URL}export.csv", {"staff": "sam"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["staff"], row["kind"], row["outcome"]) for row in rows] == [("sam", "freeze", "done")]
    assert rows[0]["note"] == '\'=HYPERLINK("http://evil")'
    when = rows[0]["created_at"]  # RFC 3339 UTC with "Z", as the ledger export writes it
    assert when.endswith("Z") and datetime.fromisoformat(when) == StaffAction.objects.get(staff="sam").created_at


def test_staff_without_the_view_permission_cannot_read_or_export_the_log(support, logged_actions):
    assert support.get(LOG_URL).status_code == 403
    assert support.get(f"{LOG_URL}export.csv").status_code == 403
