"""manage.py seed_demo: a demo tenant with customers, wallets and ledger history; safe to re-run.

Everything is written through the services, exactly as the API would write it. With
--api-key-file and --admin-password-file it also keeps a demo API key and an admin login in
those files (mode 0600), which is how ./run prints the same credentials on every start.
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_create
from tenancy.models import ApiKey, Environment
from tenancy.services import api_key_create, api_key_hash, environment_get_or_create
from wallets import services
from wallets.models import Wallet, WalletTransaction
from wallets.services import AutoTopUp

Reason = WalletTransaction.Reason
ACTOR = "seed_demo"
# The first demo customer marks the environment as seeded.
FIRST_CUSTOMER = "demo-customer-1"


class Command(BaseCommand):
    help = "Seed a demo environment (customers, wallets, ledger history). Re-running changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo")
        parser.add_argument("--environment", default="sandbox")
        parser.add_argument("--api-key-file", type=Path, help="Keep a read-write demo API key in this file.")
        parser.add_argument("--admin-password-file", type=Path, help="Keep a superuser's password in this file.")
        parser.add_argument("--admin-username", default="admin")

    def handle(self, *args, tenant, environment, api_key_file, admin_password_file, admin_username, **options):
        env = environment_get_or_create(tenant_name=tenant, environment_name=environment)
        if api_key_file:
            self.stdout.write(f"API key for {env}: {demo_api_key(env, api_key_file)}")
        if admin_password_file:
            password = admin_password(admin_username, admin_password_file)
            if password is None:
                self.stdout.write(f"Admin user {admin_username!r} already exists with a password set elsewhere.")
            else:
                self.stdout.write(f"Admin login: {admin_username} / {password}")
        if Customer.objects.filter(environment=env, external_id=FIRST_CUSTOMER).exists():
            self.stdout.write(f"Demo data for {env} is already there.")
            return
        with transaction.atomic():
            wallets = seed(env)
        self.stdout.write(f"Seeded {env}: {len(wallets)} wallets for 2 customers.")


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    path.chmod(0o600)  # O_CREAT's mode does not apply to a file that already existed


def _read_secret(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def demo_api_key(env: Environment, path: Path) -> str:
    """The key stored in ``path`` if it still works in ``env``; otherwise a new one, stored there.

    Only the key's hash is in the database, so the file is the one place the raw key is kept.
    """
    raw_key = _read_secret(path)
    if raw_key:
        stored = ApiKey.objects.filter(key_hash=api_key_hash(raw_key), environment=env, read_only=False).first()
        if stored is not None and stored.is_usable():
            return raw_key
    raw_key = api_key_create(environment=env, name="demo (./run)").raw_key
    _write_secret(path, raw_key)
    return raw_key


def admin_password(username: str, path: Path) -> str | None:
    """Create the superuser with the password kept in ``path`` (a new random one if the file is empty).

    An existing user keeps its password: returns it only if it is still the one in the file,
    and otherwise removes the file, which would only mislead.
    """
    User = get_user_model()
    password = _read_secret(path)
    user = User.objects.filter(username=username).first()
    if user is not None:
        if password and user.check_password(password):
            return password
        path.unlink(missing_ok=True)
        return None
    password = password or secrets.token_urlsafe(15)
    User.objects.create_superuser(username=username, email="", password=password)
    _write_secret(path, password)
    return password


def seed(env: Environment) -> list[Wallet]:
    """Two customers; three wallets with grants, purchases, debits, an overdraft and a freeze."""
    now = timezone.now()
    ada = customer_create(
        environment=env,
        external_id=FIRST_CUSTOMER,
        name="Ada Lovelace",
        email="ada@example.com",
        address_city="London",
        address_country="GB",
        metadata={"plan": "growth"},
        actor=ACTOR,
    )
    grace = customer_create(
        environment=env,
        external_id="demo-customer-2",
        name="Grace Hopper",
        email="grace@example.com",
        address_country="US",
        actor=ACTOR,
    )

    prepaid = services.wallet_create(
        ada,
        currency="usd",
        name="Prepaid credits",
        initial_credits=Decimal("100"),
        initial_credits_expiry=now + timedelta(days=30),
        auto_topup=AutoTopUp(enabled=True, threshold=Decimal("50"), amount=Decimal("200")),
        actor=ACTOR,
    )
    services.wallet_top_up(
        prepaid,
        reason=Reason.PURCHASED_CREDIT_DIRECT,
        credits=Decimal("500"),
        priority=1,
        description="Starter pack",
        actor=ACTOR,
    )
    services.wallet_top_up(
        prepaid,
        reason=Reason.SUBSCRIPTION_CREDIT_GRANT,
        credits=Decimal("50"),
        expiry_date=now + timedelta(days=7),
        description="Monthly plan credits",
        actor=ACTOR,
    )
    services.wallet_debit(
        prepaid,
        credits=Decimal("120.5"),
        reason=Reason.INVOICE_PAYMENT,
        idempotency_key=f"seed-{prepaid.id}-invoice-1",
        description="Invoice INV-0001",
        actor=ACTOR,
    )

    promo = services.wallet_create(
        ada,
        currency="usd",
        wallet_type=Wallet.Type.PROMOTIONAL,
        name="Launch promotion",
        initial_credits=Decimal("25"),
        initial_credits_expiry=now + timedelta(days=14),
        actor=ACTOR,
    )
    services.wallet_debit(
        promo,
        credits=Decimal("40"),
        reason=Reason.MANUAL_BALANCE_DEBIT,
        idempotency_key=f"seed-{promo.id}-overdraft",
        description="Usage beyond the promotion (overdraft)",
        actor=ACTOR,
    )

    # One credit is worth half a euro here: balance = credits x conversion_rate.
    euro = services.wallet_create(grace, currency="eur", conversion_rate=Decimal("0.5"), actor=ACTOR)
    services.wallet_top_up(euro, reason=Reason.PURCHASED_CREDIT_DIRECT, amount=Decimal("40"), actor=ACTOR)
    services.wallet_freeze(euro, reason="Payment dispute under review (demo)", actor=ACTOR)
    return [prepaid, promo, euro]
