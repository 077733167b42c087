"""The customer page as support's home: wallets with balances and buttons, credits expiring within
30 days by date (with where each lot's expiry reminder stands), open holds, the latest ledger rows,
open invoices, alert state and freeze history."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices.models import Invoice
from tests.admin.flows import REQUEST_ID
from wallets import services
from wallets.admin.display import change_url
from wallets.models import AlertLog, Wallet, WalletHold, WalletStatusChange, WalletTransaction
from wallets.services import holds, reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_day(customer, make_wallet):
    usd = make_wallet(name="Main")
    eur = make_wallet(currency="eur", name="Euro")
    now = timezone.now()
    soon = services.wallet_top_up(usd, credits=Decimal("7"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=20))
    sooner = services.wallet_top_up(eur, credits=Decimal("3"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=2))
    late = services.wallet_top_up(usd, credits=Decimal("9"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=45))
    purchase = services.wallet_top_up(usd, credits=Decimal("50"), reason="PURCHASED_CREDIT_INVOICED")
    services.wallet_freeze(eur, reason="Chargeback dispute", actor="user:sam")
    AlertLog.objects.create(wallet=usd, previous_state="ok", state="in_alarm", credit_balance=Decimal("16"))
    return {
        "usd": usd,
        "eur": eur,
        "soon": soon.transaction,
        "sooner": sooner.transaction,
        "late": late.transaction,
        "invoice": Invoice.objects.get(pk=purchase.invoice_id),
    }


SECTIONS = (
    "customer-wallets",
    "customer-expiring",
    "customer-invoices",
    "customer-holds",
    "customer-ledger",
    "customer-alerts",
    "customer-freeze-history",
)


def _page(client, customer):
    response = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    assert response.status_code == 200
    return response


def test_the_customer_page_shows_everything_support_needs(finance, customer, customer_day):
    response = _page(finance, customer)
    summary = response.context["summary"]

    assert {wallet.pk for wallet in summary.wallets} == {customer_day["usd"].pk, customer_day["eur"].pk}
    assert [item.lot.pk for item in summary.expiring] == [customer_day["sooner"].pk, customer_day["soon"].pk]  # by date, 30 days
    assert summary.latest_rows[0].transaction_reason == "PURCHASED_CREDIT_INVOICED"
    assert [invoice.pk for invoice in summary.open_invoices] == [customer_day["invoice"].pk]
    assert [alert.state for alert in summary.alerts] == ["in_alarm"]
    assert [change.reason for change in summary.status_history] == ["Chargeback dispute"]
    page = response.content.decode()
    for section in SECTIONS:
        assert f'id="{section}"' in page
    assert "16&nbsp;credits" in page


def test_the_buttons_follow_permission_and_status(support, finance, customer, customer_day):
    def buttons(client):
        rows = _page(client, customer).context["wallet_rows"]
        return {wallet.pk: [action.name for action in actions] for wallet, actions in rows}

    usd, eur = customer_day["usd"].pk, customer_day["eur"].pk
    assert buttons(support) == {usd: ["top_up", "freeze"], eur: ["unfreeze"]}
    assert buttons(finance) == {usd: ["top_up", "debit", "freeze", "terminate", "transfer"], eur: ["unfreeze", "terminate"]}


def test_a_button_starts_the_action_for_that_wallet_and_comes_back_to_the_customer(support, customer, customer_day):
    page = _page(support, customer).content.decode()
    usd = customer_day["usd"]
    assert f'name="_selected_action" value="{usd.pk}"' in page
    fields = {"action": "top_up", "_selected_action": [usd.pk], "origin": "customer"}
    form = support.post("/admin/wallets/wallet/", fields)
    assert form.status_code == 200 and form.context["action"].name == "top_up"
    assert form.context["cancel_url"] == change_url(customer)

    top_up = {"credits": "5", "reason": "FREE_CREDIT_GRANT", "justification": "Goodwill", "request_id": REQUEST_ID}
    support.post("/admin/wallets/wallet/", {**fields, **top_up, "step": "review"})
    done = support.post("/admin/wallets/wallet/", {**fields, **top_up, "step": "apply"})
    assert done.status_code == 302 and done["Location"] == change_url(customer)  # back to the customer


def test_staff_who_may_not_see_invoices_are_told_so(viewer, customer, customer_day):
    response = _page(viewer, customer)
    page = response.content.decode()
    assert 'id="customer-wallets"' in page and 'id="customer-ledger"' in page  # what the viewer may view
    assert 'id="customer-invoices"' not in page
    assert customer_day["invoice"].invoice_number not in page
    assert response.context["summary"].open_invoices is None  # not even read
    assert "Left out, as you may not view them: open invoices, alert state changes, freeze and termination history." in page


# The rows each section shows, by table: none of them may be read for staff who may not view them.
SECTION_TABLES = [
    model._meta.db_table for model in (Wallet, WalletTransaction, WalletHold, Invoice, AlertLog, WalletStatusChange)
]


def test_staff_who_may_view_only_customers_see_no_section_and_no_query_reads_one(make_staff, customer, customer_day):
    client = Client()
    # May top up, but may not view wallets: the wallet list (where the action runs) would refuse her anyway.
    client.force_login(make_staff("cora", permissions=("customers.view_customer", "wallets.top_up_wallet")))
    with CaptureQueriesContext(connection) as queries:
        response = _page(client, customer)
    page = response.content.decode()

    read = [query["sql"] for query in queries if any(f'"{table}"' in query["sql"] for table in SECTION_TABLES)]
    assert read == []
    for section in SECTIONS:
        assert f'id="{section}"' not in page
    for wallet in (customer_day["usd"], customer_day["eur"]):
        assert wallet.pk not in page and wallet.name not in page
    for row in (customer_day["soon"], customer_day["sooner"]):
        assert row.pk not in page
    assert customer_day["invoice"].invoice_number not in page
    assert "Chargeback dispute" not in page  # the freeze's reason
    assert "16&nbsp;credits" not in page  # the alert's balance
    assert 'name="_selected_action"' not in page  # no action buttons either
    assert "Left out, as you may not view them: wallets, expiring credits, open holds and ledger rows, open invoices" in page
    assert response.context["wallet_rows"] == []


def _reminder_cells(page: str) -> list[str]:
    """The expiring-credits table's reminder column, row by row, as text."""
    return [" ".join(cell.split()) for cell in re.findall(r'<td class="expiry-reminder">(.*?)</td>', page, re.S)]


def test_the_expiring_credits_say_where_each_lot_s_expiry_reminder_stands(finance, customer, make_wallet, environment):
    wallet = make_wallet(name="Main")
    now = timezone.now()

    def top_up(credits, days, **fields):
        expiry = now + timedelta(days=days)
        return services.wallet_top_up(wallet, credits=Decimal(credits), reason="FREE_CREDIT_GRANT", expiry_date=expiry, **fields)

    sent = top_up("5", 2).transaction
    sweep = reminders.credit_expiry_reminders_sweep()
    assert sweep.reminded == 1
    unsent = top_up("4", 3).transaction  # inside the 7 days, after the sweep
    later = top_up("6", 20).transaction
    held = top_up("10", 25, priority=1).transaction
    holds.hold_place(wallet, credits=Decimal("10"), idempotency_key="job-1")  # all of the priority lot

    response = _page(finance, customer)
    items = {item.lot.pk: item for item in response.context["summary"].expiring}
    assert list(items) == [sent.pk, unsent.pk, later.pk, held.pk]
    assert items[sent.pk].reminder.created_at <= timezone.now() and items[sent.pk].remind_from is None
    assert items[later.pk].remind_from == later.expiry_date - timedelta(days=7)
    assert (items[held.pk].lot.credits_available, items[held.pk].held_credits) == (0, Decimal("10"))
    sent_at = items[sent.pk].reminder.created_at.strftime("%Y-%m-%d %H:%M")
    page = response.content.decode()
    assert _reminder_cells(page) == [
        f"Sent {sent_at}",
        "At the next sweep",
        f"Due {(later.expiry_date - timedelta(days=7)):%Y-%m-%d %H:%M}",
        f"Due {(held.expiry_date - timedelta(days=7)):%Y-%m-%d %H:%M}",
    ]
    assert 'and <span class="bo-amount">10&nbsp;credits</span> held' in page

    environment.tenant.credit_expiry_reminder_days = 0
    environment.tenant.save(update_fields=["credit_expiry_reminder_days"])
    cells = _reminder_cells(_page(finance, customer).content.decode())
    assert cells[0] == f"Sent {sent_at}"
    assert cells[1:] == ['<span class="bo-quiet">Off for this tenant</span>'] * 3


# --- Open holds ------------------------------------------------------------------------------


def _place(wallet, credits: str, key: str, **fields):
    return holds.hold_place(wallet, credits=Decimal(credits), idempotency_key=key, actor="api:render", **fields).hold


def test_the_open_holds_are_listed_linked_to_their_row_on_the_wallet_page(support, customer, customer_day, make_wallet):
    usd = customer_day["usd"]
    spare = make_wallet(name="Spare", wallet_type="PROMOTIONAL")
    services.wallet_top_up(spare, credits=Decimal("20"), reason="FREE_CREDIT_GRANT")
    stuck = _place(usd, "4", "job-1", description="render job 1", metadata={"job": "1", "region": "eu"})
    other = _place(spare, "6", "job-2")
    released = _place(usd, "2", "job-3")
    holds.hold_release(released, idempotency_key="release-3")

    response = _page(support, customer)
    assert [hold.pk for hold in response.context["summary"].open_holds] == [stuck.pk, other.pk]  # oldest first
    page = response.content.decode()
    section = page.split('id="customer-holds"')[1].split('id="customer-ledger"')[0]
    assert "Open holds (2)" in section and released.pk not in section
    assert f'href="{change_url(usd)}#hold-{stuck.pk}"' in section
    assert f'href="{change_url(spare)}#hold-{other.pk}"' in section
    assert "render job 1 · job=1, region=eu" in section and "api:render" in section
    assert "4&nbsp;credits" in section
    # The link's target: the hold's row on its wallet's page.
    assert f'<tr id="hold-{stuck.pk}">' in support.get(change_url(usd)).content.decode()

    # "Release holds…" of each wallet holding one: the wallet page's action, back to the customer after.
    assert {wallet.pk for wallet in response.context["release_holds_wallets"]} == {usd.pk, spare.pk}
    buttons = section.split('id="customer-release-holds"')[1]
    for wallet in (usd, spare):
        assert f'name="_selected_action" value="{wallet.pk}"' in buttons
    fields = {"action": "release_holds", "_selected_action": [usd.pk], "origin": "customer"}
    form = support.post("/admin/wallets/wallet/", fields)
    assert form.status_code == 200 and form.context["action"].name == "release_holds"
    assert form.context["cancel_url"] == change_url(customer)


def test_staff_who_may_not_release_holds_see_them_without_the_button(viewer, customer, customer_day):
    stuck = _place(customer_day["usd"], "4", "job-1")
    page = _page(viewer, customer).content.decode()
    assert stuck.pk in page.split('id="customer-holds"')[1]
    assert 'id="customer-release-holds"' not in page and 'value="release_holds"' not in page


def test_the_customer_page_reads_the_same_number_of_queries_however_many_holds(finance, customer, customer_day, make_wallet):
    spare = make_wallet(name="Spare", wallet_type="PROMOTIONAL")
    services.wallet_top_up(spare, credits=Decimal("20"), reason="FREE_CREDIT_GRANT")
    _place(customer_day["usd"], "1", "job-0")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _page(finance, customer)
        return len(captured)

    one = queries()
    for n in range(1, 6):
        _place(customer_day["usd"] if n % 2 else spare, "1", f"job-{n}")
    assert len(_page(finance, customer).context["summary"].open_holds) == 6
    assert queries() == one
