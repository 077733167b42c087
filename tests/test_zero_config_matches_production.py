"""The zero-configuration ./run and the production stack give byte-identical API answers.

One money-heavy scenario (amounts at the contract's full numeric(20,9), rates at numeric(10,5),
conversions whose quotients repeat, many one-nano-credit debits, inputs one digit too precise)
is played over HTTP against two real servers: ``./run`` with no configuration (its embedded
PostgreSQL) and a gunicorn on the test suite's PostgreSQL, configured as production. Every
response (status, content type, body bytes) must be the same once ids are numbered in order
of appearance and the times of creation and generated keys (which hash ids) are masked, and
``check_ledger`` must say the same on both.
"""

import io
import json
import re
import signal
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from django.core.management import call_command

from tenancy.services import api_key_create, environment_get_or_create
from tests.e2e.server import live_api  # noqa: F401 (fixture)
from tests.zero_config import assert_stops_cleanly, free_port, manage, start_run, zero_config_env

pytestmark = pytest.mark.slow

TENANT, ENVIRONMENT = "byte-compare", "live"
# Expiry dates the scenario sets stay as they are; every other time is when something was written.
FIXED_EXPIRY = "2099-01-01T00:00:00Z"
# Prefixed ULIDs (cust_…, wallet_…, wtxn_…, key_…): 26 characters of Crockford base 32.
ID = re.compile(r"\b[a-z]+_[0-9A-HJKMNP-TV-Z]{26}\b")
# The idempotency keys the service makes up when a request has none hash the wallet's id.
GENERATED_KEY = re.compile(r"\b([a-z_]+)_[0-9a-f]{32}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
SMALL_DEBITS = 60

ISSUE_KEY = f"""
from tenancy.services import api_key_create, environment_get_or_create
environment = environment_get_or_create(tenant_name={TENANT!r}, environment_name={ENVIRONMENT!r})
print("RESULT", environment.pk, api_key_create(environment=environment, name="byte-compare").raw_key)
"""


def to_json(body: dict | None) -> str:
    """The body as JSON, with each Decimal written as an exact JSON number (json.dumps knows only floats)."""
    text = json.dumps(body, default=lambda number: f"<number {number:f}>")
    return re.sub(r'"<number (-?[0-9.]+)>"', r"\1", text)


class Transcript:
    """Sends the scenario's requests to one server and keeps every answer, ids and times numbered."""

    def __init__(self, base_url: str, api_key: str):
        self.client = httpx.Client(base_url=f"{base_url}/v1", headers={"x-api-key": api_key}, timeout=60)
        self.answers: list[str] = []
        self._names: dict[str, str] = {}

    def send(self, method: str, path: str, body: dict | None = None) -> dict:
        sent = to_json(body)
        response = self.client.request(method, path, content=sent, headers={"content-type": "application/json"})
        text = response.content.decode()
        self.answers.append(
            f"{method} {self.normalise(path)} {self.normalise(sent)}\n"
            f"{response.status_code} {response.headers.get('content-type')}\n{self.normalise(text)}"
        )
        return response.json() if text else {}

    def normalise(self, text: str) -> str:
        text = ID.sub(lambda match: self._name(match.group()), text)
        text = GENERATED_KEY.sub(r"\1_<hash>", text)
        return TIME.sub(lambda match: match.group() if match.group() == FIXED_EXPIRY else "<time>", text)

    def _name(self, identifier: str) -> str:
        prefix = identifier.split("_", 1)[0]
        return self._names.setdefault(identifier, f"<{prefix}#{len(self._names) + 1}>")


def play(server: Transcript) -> None:
    """The scenario. Amounts are strings and JSON numbers, as the SDKs send both."""
    customer = server.send("POST", "/customers", {"external_id": "byte-compare-1", "name": "Exact Decimals Ltd"})
    # numeric(20,9) at its largest: 11 integer digits and 9 places; × 3 fills the balance column exactly.
    widest = server.send("POST", "/wallets", {
        "customer_id": customer["id"], "currency": "usd", "name": "widest", "conversion_rate": "3",
        "initial_credits_to_load": "33333333333.333333333",
    })  # fmt: skip
    # Rates at numeric(10,5)'s full precision; top-ups by amount divide by them (repeating quotients).
    tiny_rate = server.send("POST", "/wallets", {
        "customer_id": customer["id"], "currency": "eur", "name": "tiny rate", "conversion_rate": "0.00007",
        "topup_conversion_rate": "0.00003", "initial_credits_to_load": Decimal("0.000000001"),
    })  # fmt: skip
    huge_rate = server.send("POST", "/wallets", {
        "customer_id": customer["id"], "currency": "gbp", "name": "huge rate", "conversion_rate": "99999.99999",
        "topup_conversion_rate": "7",
    })  # fmt: skip
    for wallet, amount in [(tiny_rate, "1"), (tiny_rate, "2"), (huge_rate, "10"), (huge_rate, "99999999999.999999999")]:
        server.send("POST", f"/wallets/{wallet['id']}/top-up", {
            "amount": amount, "transaction_reason": "PURCHASED_CREDIT_DIRECT", "idempotency_key": f"amount-{amount}",
        })  # fmt: skip
    server.send("POST", f"/wallets/{tiny_rate['id']}/top-up", {
        "credits_to_add": Decimal("12345678901.123456789"), "transaction_reason": "FREE_CREDIT_GRANT",
        "expiry_date_utc": FIXED_EXPIRY, "priority": 1,
    })  # fmt: skip
    # One digit too many, in the scale and in the integer part; one more credit than the balance holds.
    for credits in ["0.0000000001", "123456789012", "1"]:
        server.send("POST", f"/wallets/{widest['id']}/top-up", {
            "credits_to_add": credits, "transaction_reason": "FREE_CREDIT_GRANT",
        })  # fmt: skip
    for number in range(SMALL_DEBITS):
        server.send("POST", f"/wallets/{tiny_rate['id']}/debit", {
            "credits": "0.000000001", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": f"nano-{number}",
        })  # fmt: skip
    server.send("POST", f"/wallets/{widest['id']}/debit", {
        "credits": "0.333333333", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "third",
    })  # fmt: skip
    # Below zero, then so far below that the balance (credits × rate) would not fit its column.
    for credits in ["2", "99999999999.999999999"]:
        server.send("POST", f"/wallets/{huge_rate['id']}/debit", {
            "credits": credits, "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": f"overdraft-{credits}",
        })  # fmt: skip
    for wallet in (widest, tiny_rate, huge_rate):
        server.send("GET", f"/wallets/{wallet['id']}")
        server.send("GET", f"/wallets/{wallet['id']}/balance/real-time")
        server.send("GET", f"/wallets/{wallet['id']}/transactions?limit=1000")
    server.send("GET", f"/customers/{customer['id']}/wallets")
    by_amount = [{"field": "credit_amount", "direction": "desc"}]
    server.send("POST", "/wallets/transactions/search", {"limit": 1000, "sort": by_amount})
    server.send("POST", f"/wallets/{widest['id']}/terminate", {})
    server.send("GET", f"/wallets/{widest['id']}")


@pytest.fixture(scope="module")
def zero_config_api(tmp_path_factory) -> tuple[str, Callable[[], str], str]:
    """``./run`` on a fresh var/: its base URL, its check_ledger, and a key of the comparison's environment."""
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    run, output = start_run(var_dir, port)
    try:
        environment_id, raw_key = manage(zero_config_env(var_dir), "shell", "-c", ISSUE_KEY).split("RESULT ", 1)[1].split()

        def check_ledger() -> str:
            return manage(zero_config_env(var_dir), "check_ledger", "--environment", environment_id)

        yield f"http://127.0.0.1:{port}", check_ledger, raw_key
    finally:
        assert_stops_cleanly(run, output, var_dir, lambda: run.send_signal(signal.SIGTERM))


def test_zero_config_run_answers_byte_for_byte_like_production(zero_config_api, live_api, transactional_db):  # noqa: F811
    environment = environment_get_or_create(tenant_name=TENANT, environment_name=ENVIRONMENT)
    production = Transcript(live_api, api_key_create(environment=environment, name="byte-compare").raw_key)
    play(production)
    zero_config_url, zero_config_check_ledger, zero_config_key = zero_config_api
    embedded = Transcript(zero_config_url, zero_config_key)
    play(embedded)

    assert len(embedded.answers) == len(production.answers)
    for on_embedded, on_production in zip(embedded.answers, production.answers, strict=True):
        assert on_embedded == on_production
    # The scenario did reach the limits it is about (so the comparison is not of two empty answers).
    transcript = "\n".join(production.answers)
    assert '"credit_balance":"33333333333.333333333"' in transcript
    assert '"balance":"99999999999.999999999"' in transcript
    for quotient in ["33333.333333333", "66666.666666667", "1.428571429"]:  # amount ÷ rate, half away from zero
        assert f'"credit_amount":"{quotient}"' in transcript
    # The grant sent as a JSON number lands exactly (100000.000000001 was there), trailing zero trimmed;
    # then the sixty one-nano-credit debits.
    assert '"credit_balance":"12345778901.12345679"' in transcript
    assert '"credit_balance":"12345778901.12345673"' in transcript
    assert transcript.count("\n200 application/json") > SMALL_DEBITS
    assert "\n400 application/json" in transcript

    ledger = io.StringIO()
    call_command("check_ledger", environment=environment.pk, stdout=ledger)
    assert zero_config_check_ledger() == ledger.getvalue()
    assert ledger.getvalue() == "Checked 3 wallet(s): 0 problem(s) in 0 wallet(s).\n"
