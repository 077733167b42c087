"""The customer page as support's home: wallets with balances and buttons, credits expiring within
30 days by date, the latest ledger rows, open invoices, alert state and freeze history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice
from tests.admin.flows import REQUEST_ID
from wallets.admin.display import change_url
from wallets import services
from wallets.models import AlertLog, Wallet

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
        "usd": usd, "eur": eur, "soon": soon.transaction, "sooner": sooner.transaction, "late": late.transaction,
        "invoice": Invoice.objects.get(pk=purchase.invoice_id),
    }


def _page(client, customer):
    response = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    assert response.status_code == 200
    return response


def test_the_customer_page_shows_everything_support_needs(finance, customer, customer_day):
    response = _page(finance, customer)
    summary = response.context["summary"]

    assert {wallet.pk for wallet in summary.wallets} == {customer_day["usd"].pk, customer_day["eur"].pk}
    assert [lot.pk for lot in summary.expiring] == [customer_day["sooner"].pk, customer_day["soon"].pk]  # by date, 30 days
    assert summary.latest_rows[0].transaction_reason == "PURCHASED_CREDIT_INVOICED"
    assert [invoice.pk for invoice in summary.open_invoices] == [customer_day["invoice"].pk]
    assert [alert.state for alert in summary.alerts] == ["in_alarm"]
    assert [change.reason for change in summary.status_history] == ["Chargeback dispute"]
    page = response.content.decode()
    for section in ("customer-wallets", "customer-expiring", "customer-invoices", "customer-ledger", "customer-alerts",
                    "customer-freeze-history"):
        assert f'id="{section}"' in page
    assert "16&nbsp;credits" in page


def test_the_buttons_follow_permission_and_status(support, finance, customer, customer_day):
    def buttons(client):
        rows = _page(client, customer).context["wallet_rows"]
        return {wallet.pk: [action.name for action in actions] for wallet, actions in rows}

    usd, eur = customer_day["usd"].pk, customer_day["eur"].pk
    assert buttons(support) == {usd: ["top_up", "freeze"], eur: ["unfreeze"]}
    assert buttons(finance) == {usd: ["top_up", "debit", "freeze", "terminate"], eur: ["unfreeze", "terminate"]}


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
    page = _page(viewer, customer).content.decode()
    assert "You may not see invoices." in page
    assert customer_day["invoice"].invoice_number not in page
    assert Wallet.objects.filter(customer=customer).count() == 2
