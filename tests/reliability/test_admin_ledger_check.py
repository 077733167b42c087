"""The admin action "Check ledger integrity": a read-only audit of the selected wallets, drift per wallet."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from wallets.models import Wallet

pytestmark = pytest.mark.django_db

WALLETS_URL = "/admin/wallets/wallet/"


def staff_client(*codenames: str) -> Client:
    user = User.objects.create_user(f"staff-{len(codenames)}", password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="wallets", codename=codename))
    client = Client()
    client.force_login(user)
    return client


def check(client: Client, *wallets):
    data = {"action": "check_ledger_integrity", "_selected_action": [wallet.pk for wallet in wallets]}
    return client.post(WALLETS_URL, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_viewer_checks_a_clean_ledger(wallet, credit):
    credit(5)

    response = check(staff_client("view_wallet"), wallet)

    assert response.status_code == 200
    assert messages_of(response) == ["Checked the ledger of 1 wallet(s): 0 drifted."]


def test_drift_is_reported_per_wallet(wallet, make_customer, make_wallet, credit, ledger_may_drift):
    healthy, drifted = wallet, make_wallet(make_customer())
    credit(5, target=healthy)
    credit(5, target=drifted)
    Wallet.objects.filter(pk=drifted.pk).update(credit_balance=4, balance=4)  # past the ledger, on purpose

    response = check(staff_client("view_wallet"), healthy, drifted)

    shown = messages_of(response)
    assert shown[-1] == "Checked the ledger of 2 wallet(s): 1 drifted."
    assert len(shown) == 2 and shown[0].startswith(f"{drifted.pk} drifted: [I1] credit_balance 4 but the ledger sums to 5")
    drifted.refresh_from_db()
    assert drifted.credit_balance == 4, "the check only reads"


def test_a_user_who_cannot_see_wallets_cannot_run_it(wallet):
    assert check(staff_client(), wallet).status_code == 403
