"""Tenant isolation: every /v1 operation × every kind of caller.

Callers: the owner's read-write key, another tenant's key, a key of another environment of the
same tenant, the owner's read-only key, a revoked key, an expired key, and no key. Operations are
read from the URL resolver (tests/api/routes.py); ``test_every_route_has_a_case`` fails when a
route has no case here, so a new route cannot slip past the matrix.

For each cell the status is asserted. For every caller but the owner's read-write key, the
data must be untouched (a snapshot of every row of every tenant-data model, balances included,
before and after); a foreign or keyless caller must not see any id of the owner's objects it did
not send itself.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from customers.services import customer_create
from invoices.models import Invoice
from invoices.services import invoice_pay
from tenancy.services import api_key_create, api_key_revoke, environment_get_or_create
from tests.api.routes import api_operations
from wallets import services
from wallets.services import holds

pytestmark = pytest.mark.django_db

# Apps whose rows hold tenant data. tenancy is left out: using a key stamps its last_used_at.
DATA_APPS = {"customers", "wallets", "invoices", "webhooks"}

CALLERS = ["other_tenant", "other_environment", "read_only", "revoked", "expired", "no_key", "owner"]
UNAUTHORIZED = {"revoked", "expired", "no_key"}
FOREIGN = {"other_tenant", "other_environment"}


@dataclass
class World:
    customer: object
    spare_customer: object  # no wallet: the one DELETE may remove
    wallet: object  # active, 100 credits
    frozen_wallet: object
    invoice: object  # unpaid, for a pending invoiced purchase
    second_wallet: object = None  # active, POST_PAID: a transfer's other end
    transfer: object = None  # 1 credit from second_wallet to wallet
    owner_ids: set = field(default_factory=set)
    grant: object = None  # the wallet's 100 free credits, for a void
    paid_lot: object = None  # 5 credits purchased on a paid invoice, for a refund
    hold: object = None  # an open hold of 10 on ``wallet``


@pytest.fixture
def world(environment, other_environment) -> World:
    customer = customer_create(environment=environment, external_id="owner-ext", name="Owner")
    spare = customer_create(environment=environment, external_id="owner-spare", name="Spare")
    wallet = services.wallet_create(customer, currency="usd")
    grant = services.wallet_top_up(wallet, credits=Decimal("100"), reason="FREE_CREDIT_GRANT", idempotency_key="owner-grant")
    frozen = services.wallet_create(customer, currency="usd", wallet_type="PROMOTIONAL")
    services.wallet_freeze(frozen, reason="matrix")
    purchase = services.wallet_top_up(wallet, credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED")
    invoice = Invoice.objects.get(wallet_transaction=purchase.transaction)
    # The other tenant has data of its own, so empty answers are not empty by accident.
    theirs = customer_create(environment=other_environment, external_id="their-ext", name="Theirs")
    services.wallet_top_up(services.wallet_create(theirs, currency="usd"), credits=Decimal("7"), reason="FREE_CREDIT_GRANT")
    paid = services.wallet_top_up(wallet, credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED")
    invoice_pay(Invoice.objects.get(wallet_transaction=paid.transaction))
    second = services.wallet_create(customer, currency="usd", wallet_type="POST_PAID")
    services.wallet_top_up(second, credits=Decimal("3"), reason="FREE_CREDIT_GRANT", idempotency_key="owner-second")
    moved = services.wallet_transfer(second, wallet, credits=Decimal("1"), idempotency_key="owner-transfer")
    world = World(
        customer, spare, wallet, frozen, invoice, second, moved.transfer, grant=grant.transaction, paid_lot=paid.transaction
    )
    world.hold = holds.hold_place(wallet, credits=Decimal("10"), idempotency_key="owner-hold").hold
    for model in _data_models():
        rows = model.objects.filter(environment=environment) if _has_field(model, "environment") else []
        world.owner_ids.update(str(row.pk) for row in rows if not isinstance(row.pk, int))
    world.owner_ids.update({customer.external_id, spare.external_id})
    return world


@pytest.fixture
def callers(environment, api_key):
    tenant_b = environment_get_or_create(tenant_name="globex", environment_name="live")
    sandbox = environment_get_or_create(tenant_name=environment.tenant.name, environment_name="sandbox")
    revoked = api_key_create(environment=environment, name="revoked")
    api_key_revoke(revoked.api_key)
    keys = {
        "owner": (api_key.raw_key, environment),
        "other_tenant": (api_key_create(environment=tenant_b, name="b").raw_key, tenant_b),
        "other_environment": (api_key_create(environment=sandbox, name="sandbox").raw_key, sandbox),
        "read_only": (api_key_create(environment=environment, name="ro", read_only=True).raw_key, environment),
        "revoked": (revoked.raw_key, environment),
        "expired": (
            api_key_create(environment=environment, expires_at=timezone.now() - timedelta(minutes=1)).raw_key,
            environment,
        ),
        "no_key": (None, None),
    }
    clients = {}
    for name, (raw_key, env) in keys.items():
        client = APIClient()
        if raw_key is not None:
            client.credentials(HTTP_X_API_KEY=raw_key)
        clients[name] = (client, env.id if env else None)
    return clients


@dataclass(frozen=True)
class Case:
    """How to call one operation on the owner's objects, and what the owner's key gets.

    ``foreign``: the status for another tenant's or environment's key (404 when the call names
    an owner's object; a list answers 200 with none of the owner's rows).
    ``public``: no key needed, every caller gets ``owner``.
    """

    owner: int
    foreign: int = 404
    path: Callable[[World], dict] = lambda w: {}
    body: Callable[[World], dict] | None = None
    query: Callable[[World], dict] = lambda w: {}
    read: bool = False  # a POST that only reads (search): read-only keys may call it
    public: bool = False


def _wallet(w):
    return {"id": w.wallet.id}


def _customer(w):
    return {"id": w.customer.id}


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/v1/openapi.json"): Case(200, public=True),
    # wallets
    ("GET", "/v1/wallets"): Case(200, foreign=200, query=lambda w: {"wallet_ids": w.wallet.id}),
    ("POST", "/v1/wallets"): Case(200, body=lambda w: {"customer_id": w.spare_customer.id, "currency": "eur"}),
    ("POST", "/v1/wallets/search"): Case(200, foreign=200, read=True, body=lambda w: {"wallet_ids": [w.wallet.id]}),
    ("POST", "/v1/wallets/transactions/search"): Case(200, foreign=200, read=True, body=lambda w: {"id": w.wallet.id}),
    ("POST", "/v1/wallets/transactions/{id}/void"): Case(
        200, path=lambda w: {"id": w.grant.id}, body=lambda w: {"reason": "matrix", "idempotency_key": "matrix-void"}
    ),
    ("POST", "/v1/wallets/transactions/{id}/refund"): Case(
        200, path=lambda w: {"id": w.paid_lot.id}, body=lambda w: {"reason": "matrix", "idempotency_key": "matrix-refund"}
    ),
    ("GET", "/v1/wallets/{id}"): Case(200, path=_wallet),
    ("PUT", "/v1/wallets/{id}"): Case(200, path=_wallet, body=lambda w: {"description": "changed"}),
    ("POST", "/v1/wallets/{id}/top-up"): Case(
        200, path=_wallet, body=lambda w: {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}
    ),
    ("POST", "/v1/wallets/{id}/debit"): Case(
        200,
        path=_wallet,
        body=lambda w: {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "matrix-debit"},
    ),
    ("POST", "/v1/wallets/{id}/debit/preview"): Case(200, path=_wallet, read=True, body=lambda w: {"credits": "1"}),
    ("POST", "/v1/wallets/{id}/terminate"): Case(200, path=_wallet),
    ("POST", "/v1/wallets/{id}/freeze"): Case(200, path=_wallet, body=lambda w: {"reason": "matrix"}),
    ("POST", "/v1/wallets/{id}/unfreeze"): Case(
        200, path=lambda w: {"id": w.frozen_wallet.id}, body=lambda w: {"reason": "matrix"}
    ),
    ("GET", "/v1/wallets/{id}/balance/real-time"): Case(200, path=_wallet),
    ("GET", "/v1/wallets/{id}/balance/real-time-cached"): Case(200, path=_wallet),
    ("GET", "/v1/wallets/{id}/transactions"): Case(200, path=_wallet),
    ("POST", "/v1/wallets/transfers"): Case(
        201,
        body=lambda w: {
            "from_wallet_id": w.wallet.id,
            "to_wallet_id": w.second_wallet.id,
            "credits": "2",
            "idempotency_key": "matrix-transfer",
        },
    ),
    ("GET", "/v1/wallets/transfers/{id}"): Case(200, path=lambda w: {"id": w.transfer.id}),
    ("GET", "/v1/customers/wallets"): Case(200, query=lambda w: {"id": w.customer.id}),
    ("GET", "/v1/customers/{id}/wallets"): Case(200, path=_customer),
    # holds
    ("GET", "/v1/wallets/{id}/holds"): Case(200, path=_wallet),
    ("POST", "/v1/wallets/{id}/holds"): Case(
        201, path=_wallet, body=lambda w: {"credits": "1", "idempotency_key": "matrix-hold"}
    ),
    ("GET", "/v1/holds/{id}"): Case(200, path=lambda w: {"id": w.hold.id}),
    ("POST", "/v1/holds/{id}/capture"): Case(
        200, path=lambda w: {"id": w.hold.id}, body=lambda w: {"credits": "4", "idempotency_key": "matrix-capture"}
    ),
    ("POST", "/v1/holds/{id}/release"): Case(
        200, path=lambda w: {"id": w.hold.id}, body=lambda w: {"idempotency_key": "matrix-release"}
    ),
    # customers
    ("GET", "/v1/customers"): Case(200, foreign=200, query=lambda w: {"customer_ids": w.customer.id}),
    ("POST", "/v1/customers"): Case(201, foreign=201, body=lambda w: {"external_id": "matrix-new", "name": "New"}),
    ("PUT", "/v1/customers"): Case(200, query=lambda w: {"external_customer_id": "owner-ext"}, body=lambda w: {"name": "x"}),
    ("POST", "/v1/customers/search"): Case(200, foreign=200, read=True, body=lambda w: {"customer_ids": [w.customer.id]}),
    ("GET", "/v1/customers/external/{external_id}"): Case(200, path=lambda w: {"external_id": "owner-ext"}),
    ("GET", "/v1/customers/{id}"): Case(200, path=_customer),
    ("PUT", "/v1/customers/{id}"): Case(200, path=_customer, body=lambda w: {"name": "changed"}),
    ("DELETE", "/v1/customers/{id}"): Case(204, path=lambda w: {"id": w.spare_customer.id}),
    # invoices and payments
    ("POST", "/v1/invoices/search"): Case(200, foreign=200, read=True, body=lambda w: {"invoice_ids": [w.invoice.id]}),
    ("GET", "/v1/invoices/{id}"): Case(200, path=lambda w: {"id": w.invoice.id}),
    ("POST", "/v1/invoices/{id}/void"): Case(200, path=lambda w: {"id": w.invoice.id}),
    ("POST", "/v1/payments"): Case(
        201,
        body=lambda w: {
            "amount": "5",
            "currency": "usd",
            "destination_id": w.invoice.id,
            "destination_type": "INVOICE",
            "payment_method_type": "OFFLINE",
        },
    ),
}


def _data_models():
    return [model for model in apps.get_models() if model._meta.app_label in DATA_APPS]


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def snapshot(*, except_environment: str | None = None) -> dict:
    """Every row of every tenant-data model, field by field (balances, statuses, timestamps),
    leaving out the rows of ``except_environment``."""
    return {
        model._meta.label: [
            row
            for row in model.objects.order_by("pk").values()
            if except_environment is None or row.get("environment_id") != except_environment
        ]
        for model in _data_models()
    }


def expected_status(case: Case, caller: str, method: str) -> int:
    if case.public:
        return case.owner
    if caller in UNAUTHORIZED:
        return 401
    if caller in FOREIGN:
        return case.foreign
    if caller == "read_only" and method != "GET" and not case.read:
        return 403
    return case.owner


def test_every_route_has_a_case():
    served = set(api_operations())
    assert served - set(CASES) == set(), "routes without an isolation case"
    assert set(CASES) - served == set(), "cases for routes that no longer exist"


@pytest.mark.parametrize(("method", "route"), sorted(CASES), ids=lambda value: str(value))
def test_isolation_matrix(method, route, world, callers):
    case = CASES[(method, route)]
    url = route.format(**case.path(world))
    query = case.query(world)
    body = case.body(world) if case.body else None
    for caller in CALLERS:  # the owner last: its call may change the data
        client, caller_environment = callers[caller]
        # A create by a foreign key lands in its own environment; everything else must stay put.
        spared = caller_environment if caller in FOREIGN and case.foreign == 201 else None
        before = snapshot(except_environment=spared)
        response = client.generic(
            method,
            url + ("?" + urlencode(query) if query else ""),
            json.dumps(body) if body is not None else "",
            content_type="application/json",
        )
        expected = expected_status(case, caller, method)
        assert response.status_code == expected, (caller, response.content[:300])
        if response.status_code == 401:
            assert response.json() == {"error": "Unauthorized"}
        elif response.status_code in (403, 404):
            assert response.json()["code"] == {403: "permission_denied", 404: "not_found"}[response.status_code]
        if caller in ("owner", "read_only") or case.public:
            continue
        # Echoing an id the caller sent (in a 404 message) reveals nothing; any other owner id would.
        sent = url + json.dumps(query) + json.dumps(body)
        leaked = {i for i in world.owner_ids if i in response.content.decode() and i not in sent}
        assert leaked == set(), (caller, leaked)
        assert snapshot(except_environment=spared) == before, caller
