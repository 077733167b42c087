"""Fixtures of the admin tests: staff users in the migration's groups, logged-in clients, action posts."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from tests.admin.flows import PASSWORD

# The groups come from data migrations; live-server tests flush the database after they run,
# so the fixture re-creates them with the migrations' own (idempotent) functions, in migration order.
_GROUP_GRANTS = [
    importlib.import_module("wallets.migrations.0004_wallet_permissions_support_groups").create_support_groups,
    importlib.import_module("invoices.migrations.0002_alter_invoice_options").grant,
    importlib.import_module("wallets.migrations.0008_support_groups_view_alert_and_status_changes").grant,
    importlib.import_module("backoffice.migrations.0003_approval_permissions_groups").grant,
    importlib.import_module("wallets.migrations.0012_voids").grant,
    importlib.import_module("invoices.migrations.0003_credit_notes").grant,
    importlib.import_module("wallets.migrations.0013_holds").grant,
    importlib.import_module("wallets.migrations.0011_transfers").grant,
    importlib.import_module("wallets.migrations.0015_support_groups_view_wallettransfer").grant,
]


@pytest.fixture
def support_groups(db):
    for grant in _GROUP_GRANTS:
        grant(apps, None)


@pytest.fixture
def make_staff(support_groups):
    def make(username: str, *groups: str, permissions: tuple[str, ...] = ()) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
        user.groups.set(Group.objects.filter(name__in=groups))
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user

    return make


@pytest.fixture
def support_user(make_staff):
    return make_staff("sam", "Support")


@pytest.fixture
def finance_user(make_staff):
    return make_staff("fiona", "Finance")


@pytest.fixture
def viewer_user(make_staff):
    """Staff who may look at everything and change nothing."""
    return make_staff(
        "vic",
        permissions=("customers.view_customer", "wallets.view_wallet", "wallets.view_wallettransaction"),
    )


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support(support_user):
    return _logged_in(support_user)


@pytest.fixture
def finance(finance_user):
    return _logged_in(finance_user)


@pytest.fixture
def viewer(viewer_user):
    return _logged_in(viewer_user)


@pytest.fixture
def superuser_client(db):
    return _logged_in(User.objects.create_superuser("root", "root@example.com", PASSWORD))


@pytest.fixture
def funded_wallet(wallet, credit):
    credit(100)
    wallet.refresh_from_db()
    assert wallet.credit_balance == Decimal("100")
    return wallet
