"""Schemathesis against the served /v1/openapi.json, on a real gunicorn (tests/e2e/server.py).

A bounded, reproducible run for CI: a fixed seed, ``MAX_EXAMPLES`` generated cases per operation
in both modes (valid and invalid data), the examples and fuzzing phases (the stateful phase is
off: it is slow and the SDK test covers the chained flows). Every response must pass:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``response_schema_conformance``: the body matches what the document promises for its status;
- ``negative_data_rejection``: data the document calls invalid is refused with a 4xx.

Path ids point at real objects of the key's environment (half of the valid cases), so writes
and reads run the services rather than stopping at a 404.

A long run, against a server started by hand (``manage.py create_api_key`` prints a key)::

    st run http://127.0.0.1:8000/v1/openapi.json --url http://127.0.0.1:8000 \\
        -H "x-api-key: $KEY" --mode all --phases examples,coverage,fuzzing,stateful \\
        --checks not_a_server_error,response_schema_conformance,negative_data_rejection \\
        --max-examples 2000 --seed 1 --max-response-time 2

That run adds the coverage phase (boundary values, unsupported methods such as OPTIONS) and the
stateful phase. Gunicorn refuses a request line over 4094 bytes with an HTML 414 before Django
sees it; the CLI counts that as "schema-violating request accepted" (ST201), and it is a refusal.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from customers.services import customer_create
from invoices.models import Invoice
from invoices.services import invoice_pay
from tenancy.services import api_key_create, environment_get_or_create
from tests.e2e.server import live_api  # noqa: F401 (fixture)
from wallets import services
from wallets.services import holds

SEED = 20261122
MAX_EXAMPLES = 7  # per operation and strategy: about 400 cases in all

pytestmark = pytest.mark.slow


@dataclass
class World:
    schema: object
    real_ids: dict = field(default_factory=dict)  # path parameter name -> a real object of the key's


@pytest.fixture
def world(live_api, transactional_db):  # noqa: F811
    environment = environment_get_or_create(tenant_name="schemathesis", environment_name="live")
    customer = customer_create(environment=environment, external_id="st-customer", name="Fuzzed")
    wallet = services.wallet_create(customer, currency="usd")
    services.wallet_top_up(wallet, credits=Decimal("1000"), reason="FREE_CREDIT_GRANT")
    invoice_id = services.wallet_top_up(wallet, credits=Decimal("10"), reason="PURCHASED_CREDIT_INVOICED").invoice_id
    # A paid purchased lot: the void and refund routes act on it (until one of them empties it).
    paid = services.wallet_top_up(wallet, credits=Decimal("50"), reason="PURCHASED_CREDIT_INVOICED")
    invoice_pay(Invoice.objects.get(pk=paid.invoice_id))
    second = services.wallet_create(customer, currency="usd", wallet_type="PROMOTIONAL")
    transfer_id = services.wallet_transfer(wallet, second, credits=Decimal("5"), idempotency_key="st-transfer").transfer.id
    # An open hold (the capture and release cases may close it; later ones then meet a closed hold).
    hold_id = holds.hold_place(wallet, credits=Decimal("10"), idempotency_key="st-hold").hold.id
    raw_key = api_key_create(environment=environment, name="schemathesis").raw_key
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": live_api,
            "headers": {"x-api-key": raw_key},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                # 413/414: a body or URI over the server's limits is refused before the app sees it.
                "negative_data_rejection": {
                    "enabled": True,
                    "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 414, 415, 429],
                },
            },
            "request-timeout": 30,
        }
    )
    schema = schemathesis.openapi.from_url(f"{live_api}/v1/openapi.json", config=config)
    real_ids = {
        "/v1/wallets/": wallet.id,
        "/v1/wallets/transfers/": transfer_id,
        "/v1/customers/": customer.id,
        "/v1/invoices/": invoice_id,
        "/v1/wallets/transactions/": paid.transaction.id,
        "/v1/holds/": hold_id,
        "external_id": customer.external_id,
    }
    return World(schema, real_ids)


def _strategies(operation, real_ids: dict):
    """(label, strategy) pairs: valid data, valid data on a real object, invalid data."""
    yield "positive", operation.as_strategy(GenerationMode.POSITIVE)
    real = {}
    for parameter in operation.path_parameters:
        prefixes = [prefix for prefix in real_ids if operation.path.startswith(prefix)]
        if parameter.name == "external_id":
            real[parameter.name] = real_ids["external_id"]
        elif prefixes:
            real[parameter.name] = real_ids[max(prefixes, key=len)]
    if real:
        yield "positive on real objects", operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real)
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE)


def _summary(exc: Exception) -> str:
    """The failure's own lines, without the request/response dumps Schemathesis adds."""
    lines = [line.strip(" |+-") for line in str(exc).splitlines()]
    kept = [line for line in lines if line and not line.startswith(("{", "}", '"', "//", "[", "`"))]
    return " / ".join(kept)[:1500]


def test_the_api_honours_its_openapi_document(world):
    cases, failures = Counter(), []
    for result in world.schema.get_all_operations():
        operation = result.ok()
        for label, strategy in _strategies(operation, world.real_ids):

            @hypothesis.seed(SEED)
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            @hypothesis.given(case=strategy)
            def run(case):
                cases[case.meta.generation.mode.value] += 1
                case.call_and_validate()

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing in this operation can be made invalid
            except Exception as exc:  # every operation runs; the assert below reports them all
                failures.append(f"{operation.label} ({label}): {_summary(exc)}")
    print(f"Schemathesis: {sum(cases.values())} cases {dict(cases)}, {len(failures)} failing operations")
    assert sum(cases.values()) >= 300
    assert failures == [], "\n\n".join(failures)
