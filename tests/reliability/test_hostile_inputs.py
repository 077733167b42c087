"""The hand-written hostile corpus (reliability/corpus.py) against every kind of route (reliability.md §3.4 B2).

Each case is sent as raw bytes through Django's full stack with DEBUG off. Per case: no 5xx, no
traceback or setting in the body; a case meant to be refused gets a 4xx (its exact status when the
corpus names one) and leaves every row of every tenant-data model as it was (balances, statuses,
timestamps: a snapshot before and after); a legal case gets a 2xx and moves the balance by exactly
what it sent. One test runs the whole corpus so it reports every failing case at once.

The negative control feeds the verdict mislabelled cases (a legal write labelled "refuse", an
illegal one labelled "legal"): it must flag both, so the harness can fail.
"""

import hashlib
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from customers.services import customer_create
from reliability import corpus
from tenancy.services import api_key_create, api_key_revoke
from wallets import services
from wallets.ledger import money
from wallets.models import Wallet
from wallets.services import holds

pytestmark = pytest.mark.django_db

LEAKS = (b"Traceback", b'File "/', b"SECRET_KEY", b"django.", b"psycopg")
DATA_APPS = ("customers", "wallets", "invoices", "webhooks")


def snapshot() -> list[tuple]:
    """(table, rows, digest of every row's every column) for each tenant-data table, in one query.

    A refused request must leave it identical: balances, statuses, timestamps, outbox rows.
    """
    tables = sorted(model._meta.db_table for model in apps.get_models() if model._meta.app_label in DATA_APPS)
    query = " UNION ALL ".join(
        f"SELECT '{table}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[hostile] {line}")


@pytest.fixture
def world(environment, other_environment, api_key) -> dict[str, str]:
    """Placeholder → value for the corpus's paths, bodies and headers."""
    customer = customer_create(environment=environment, external_id="hostile-owner", name="Owner")
    spare = customer_create(environment=environment, external_id="hostile-spare", name="Spare")
    wallet = services.wallet_create(customer, currency="usd")
    lot = services.wallet_top_up(wallet, credits=Decimal("1000"), reason="FREE_CREDIT_GRANT").transaction
    hold = holds.hold_place(wallet, credits=Decimal("10"), idempotency_key="ours").hold  # from @lot@, the only lot yet
    # Spent after every lot without a priority: the corpus's debits never reach it.
    small_lot = services.wallet_top_up(wallet, credits=Decimal("1"), reason="FREE_CREDIT_GRANT", priority=1000).transaction
    purchase = services.wallet_top_up(wallet, credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED")
    invoice_id = purchase.invoice_id
    frozen = services.wallet_create(customer, currency="eur")
    services.wallet_freeze(frozen, reason="hostile")
    closed = services.wallet_create(customer, currency="gbp")
    services.wallet_terminate(closed)
    big = services.wallet_create(customer, currency="usd", wallet_type="PROMOTIONAL")
    theirs = customer_create(environment=other_environment, external_id="hostile-theirs", name="Theirs")
    their_wallet = services.wallet_create(theirs, currency="usd")
    their_invoice = services.wallet_top_up(their_wallet, credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED").invoice_id
    their_lot = services.wallet_top_up(their_wallet, credits=Decimal("5"), reason="FREE_CREDIT_GRANT").transaction
    services.wallet_top_up(their_wallet, credits=Decimal("5"), reason="FREE_CREDIT_GRANT")
    their_hold = holds.hold_place(their_wallet, credits=Decimal("1"), idempotency_key="theirs").hold
    revoked = api_key_create(environment=environment, name="revoked")
    api_key_revoke(revoked.api_key)
    key = api_key.raw_key
    return {
        "@wallet@": wallet.id, "@wallet_lower@": wallet.id.lower(), "@frozen@": frozen.id, "@closed@": closed.id,
        "@big@": big.id, "@customer@": customer.id, "@spare@": spare.id, "@invoice@": invoice_id,
        "@their_wallet@": their_wallet.id, "@their_customer@": theirs.id, "@their_invoice@": their_invoice,
        "@lot@": lot.id, "@small_lot@": small_lot.id, "@pending_lot@": purchase.transaction.id, "@their_lot@": their_lot.id,
        "@hold@": hold.id, "@their_hold@": their_hold.id,
        "@key@": key, "@KEY@": key.upper(), "@key_truncated@": key[:-1], "@key_prefix@": api_key.api_key.prefix,
        "@key_hash@": hashlib.sha256(key.encode()).hexdigest(),
        "@read_only_key@": api_key_create(environment=environment, name="ro", read_only=True).raw_key,
        "@their_key@": api_key_create(environment=other_environment, name="theirs").raw_key,
        "@revoked_key@": revoked.raw_key,
        "@expired_key@": api_key_create(environment=environment, expires_at=timezone.now() - timedelta(minutes=1)).raw_key,
    }  # fmt: skip


def fill(value, world: dict):
    if isinstance(value, bytes):
        for name, real in world.items():
            value = value.replace(name.encode(), real.encode())
    elif isinstance(value, str):
        for name, real in world.items():
            value = value.replace(name, real)
    return value


def balances(world) -> dict:
    return dict(Wallet.objects.filter(pk__in=[world["@wallet@"], world["@big@"]]).values_list("pk", "credit_balance"))


def send(case: corpus.Case, world: dict):
    headers = {name: fill(value, world) for name, value in case.headers.items()}
    if case.key is not None:
        headers["HTTP_X_API_KEY"] = fill(case.key, world)
    return APIClient().generic(
        case.method, fill(case.path, world), fill(case.body or b"", world), content_type=case.content_type, **headers
    )


def verdict(case: corpus.Case, world: dict) -> list[str]:
    """Run one case; the list of what went wrong (empty when it behaved)."""
    before, money_before = snapshot(), balances(world)
    response = send(case, world)
    status, problems = response.status_code, []
    if status >= 500:
        problems.append(f"5xx: {status}")
    if any(leak in response.content for leak in LEAKS):
        problems.append("the body leaks internals")
    if case.accept:
        if not 200 <= status < 300:
            problems.append(f"legal input refused: {status} {response.content[:200]!r}")
        elif case.credits_delta is not None:
            wallet = world["@big@"] if "@big@" in case.path else world["@wallet@"]
            moved = balances(world)[wallet] - money_before[wallet]
            if moved != case.credits_delta:
                problems.append(f"balance moved by {money.format_decimal(moved)}, expected {case.credits_delta}")
        if case.items is not None and 200 <= status < 300 and len(response.json()["items"]) != case.items:
            problems.append(f"{len(response.json()['items'])} items, expected {case.items}")
        if case.reads_only and snapshot() != before:
            problems.append("rows changed by a read")
        return problems
    if 200 <= status < 300:
        problems.append(f"accepted-but-invalid: {status}")
    elif status < 500 and not 400 <= status < 500:
        problems.append(f"not a 4xx: {status}")
    if case.status is not None and status != case.status:
        problems.append(f"status {status}, expected {case.status}: {response.content[:200]!r}")
    if snapshot() != before:
        problems.append("rows changed by a refused request")
    return problems


def test_no_hostile_request_gets_a_5xx_or_is_accepted_or_writes(world, capsys):
    cases = corpus.cases()
    failures, figures = [], Counter()
    for case in cases:
        problems = verdict(case, world)
        figures["accepted (legal)" if case.accept else "refused"] += 1
        for problem in problems:
            figures[problem.split(":")[0]] += 1
        failures += [f"{case.name}: {problem}" for problem in problems]
    report(capsys, f"{len(cases)} hand-written cases: {dict(figures)}; {len(failures)} failure(s)")
    assert len(cases) >= 300
    assert failures == [], "\n".join(failures)


def test_negative_control_the_verdict_flags_mislabelled_cases(world):
    # A legal top-up labelled "refuse" must be flagged as accepted and as writing; an illegal one
    # labelled "legal" must be flagged as refused. Otherwise the verdict could pass anything.
    top_up = "/v1/wallets/@wallet@/top-up"
    legal = corpus.js({"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT"})
    problems = verdict(corpus.Case("a legal top-up labelled refuse", "POST", top_up, legal), world)
    assert any(problem.startswith("accepted-but-invalid") for problem in problems)
    assert "rows changed by a refused request" in problems
    illegal = corpus.js({"credits_to_add": "-1", "transaction_reason": "FREE_CREDIT_GRANT"})
    problems = verdict(corpus.Case("an illegal top-up labelled legal", "POST", top_up, illegal, accept=True), world)
    assert any(problem.startswith("legal input refused") for problem in problems)
    problems = verdict(corpus.Case("a top-up moving 2", "POST", top_up, legal, accept=True, credits_delta=Decimal(2)), world)
    assert problems == ["balance moved by 1, expected 2"]
    problems = verdict(corpus.Case("a top-up labelled a read", "POST", top_up, legal, accept=True, reads_only=True), world)
    assert problems == ["rows changed by a read"]
