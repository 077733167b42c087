"""Who may do what: the migration's groups, the actions each user is offered, and the refusals."""

import pytest
from django.contrib.auth.models import Group

from tests.admin.flows import TRANSACTIONS_URL, WALLETS_URL, post_step
from wallets import services

pytestmark = pytest.mark.django_db

VIEW = {
    "customers.view_customer",
    "wallets.view_wallet",
    "wallets.view_wallettransaction",
    "wallets.view_alertlog",
    "wallets.view_walletstatuschange",  # the customer page's alert and freeze sections
    "wallets.view_wallettransfer",  # migration 0015: the transfers' list
}


def _codenames(group_name: str) -> set[str]:
    """The group's permissions on customers and wallets (other apps' migrations add their own)."""
    permissions = Group.objects.get(name=group_name).permissions.filter(content_type__app_label__in=["customers", "wallets"])
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type")}


def test_migration_creates_the_support_and_finance_groups(support_groups):
    assert _codenames("Support") == VIEW | {
        "wallets.top_up_wallet",
        "wallets.freeze_wallet",
        "wallets.unfreeze_wallet",
        "wallets.export_transactions",
        "wallets.void_credits",
        "wallets.release_hold",
    }
    assert _codenames("Finance") == VIEW | {
        "wallets.top_up_wallet",
        "wallets.top_up_wallet_unlimited",
        "wallets.debit_wallet",
        "wallets.freeze_wallet",
        "wallets.unfreeze_wallet",
        "wallets.terminate_wallet",
        "wallets.export_transactions",
        "wallets.void_credits",
        "wallets.refund_credits",
        "wallets.transfer_credits",  # migration 0011: a transfer debits a wallet, so Finance only
    }


def _offered_actions(client) -> set[str]:
    choices = client.get(WALLETS_URL).context["action_form"].fields["action"].choices
    return {name for name, _ in choices if name}


def test_each_user_is_offered_only_the_actions_they_hold(support, finance, viewer):
    # "Check ledger integrity" only reads: whoever may see wallets may run it.
    assert _offered_actions(support) == {"top_up", "freeze", "unfreeze", "release_holds", "check_ledger_integrity"}
    assert _offered_actions(finance) == {
        "top_up", "debit", "freeze", "unfreeze", "terminate", "transfer", "check_ledger_integrity",
    }  # fmt: skip
    assert _offered_actions(viewer) == {"check_ledger_integrity"}


def _buttons(client, wallet) -> list[str]:
    return [action.name for action in client.get(f"{WALLETS_URL}{wallet.pk}/change/").context["wallet_actions"]]


def test_wallet_page_buttons_follow_permission_and_status(support, finance, viewer, funded_wallet):
    assert _buttons(support, funded_wallet) == ["top_up", "freeze"]
    assert _buttons(finance, funded_wallet) == ["top_up", "debit", "freeze", "terminate", "transfer"]
    assert _buttons(viewer, funded_wallet) == []
    services.wallet_freeze(funded_wallet, reason="x")
    assert _buttons(support, funded_wallet) == ["unfreeze"]
    assert _buttons(finance, funded_wallet) == ["unfreeze", "terminate"]


@pytest.mark.parametrize("step", [None, "review", "apply"])
def test_a_user_without_the_permission_gets_403_at_every_step(viewer, funded_wallet, step):
    response = post_step(viewer, "top_up", [funded_wallet], step, credits="5", reason="FREE_CREDIT_GRANT", justification="x")

    assert response.status_code == 403
    assert funded_wallet.transactions.count() == 1


def test_staff_without_any_wallet_permission_get_403(make_staff, client, funded_wallet):
    client.force_login(make_staff("nobody"))

    assert client.get(WALLETS_URL).status_code == 403
    assert client.get(f"{WALLETS_URL}{funded_wallet.pk}/change/").status_code == 403
    assert client.get(f"{TRANSACTIONS_URL}export.csv").status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client, funded_wallet):
    response = client.get(WALLETS_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_wallets_cannot_be_added_changed_or_deleted_by_anyone(superuser_client, funded_wallet):
    url = f"{WALLETS_URL}{funded_wallet.pk}/"

    assert superuser_client.get(f"{WALLETS_URL}add/").status_code == 403
    assert superuser_client.get(f"{url}delete/").status_code == 403
    response = superuser_client.post(f"{url}change/", {"name": "hacked", "credit_balance": "1000000"})
    assert response.status_code == 403
    funded_wallet.refresh_from_db()
    assert funded_wallet.name != "hacked"
    assert str(funded_wallet.credit_balance) != "1000000"
