"""The hold routes (wallets.api.holds) through HTTP: shapes, statuses, replays, errors in the contract's shape."""

from decimal import Decimal

import pytest

from wallets.models import WalletHold
from wallets.services import holds

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def funded(wallet, credit):
    credit("100")
    return wallet


def place(api_client, wallet, **body):
    body.setdefault("idempotency_key", "h1")
    return api_client.post(f"/v1/wallets/{wallet.id}/holds", body, format="json")


def test_place_get_list_capture(api_client, funded, credit):
    response = place(api_client, funded, credits="30", expires_in_seconds=600, description="job", metadata={"job": "1"})
    assert response.status_code == 201, response.content
    hold = response.json()
    assert (hold["credits"], hold["captured_credits"], hold["status"]) == ("30", "0", "held")
    assert hold["wallet_id"] == funded.id and hold["capture_transaction_id"] is None
    assert [earmark["credits"] for earmark in hold["earmarks"]] == ["30"]
    assert hold["metadata"] == {"job": "1"}

    wallet = api_client.get(f"/v1/wallets/{funded.id}").json()
    assert (wallet["credit_balance"], wallet["held_credits"], wallet["available_credit_balance"]) == ("100", "30", "70")
    balance = api_client.get(f"/v1/wallets/{funded.id}/balance/real-time").json()
    assert (balance["held_credits"], balance["available_credit_balance"]) == ("30", "70")

    assert api_client.get(f"/v1/holds/{hold['id']}").json() == hold
    listed = api_client.get(f"/v1/wallets/{funded.id}/holds", {"status": "held"}).json()
    assert [item["id"] for item in listed["items"]] == [hold["id"]]
    assert listed["pagination"] == {"total": 1, "limit": 50, "offset": 50}

    captured = api_client.post(f"/v1/holds/{hold['id']}/capture", {"credits": "12.5", "idempotency_key": "c1"}, format="json")
    assert captured.status_code == 200, captured.content
    body = captured.json()
    assert (body["status"], body["captured_credits"]) == ("captured", "12.5")
    row = api_client.get(f"/v1/wallets/{funded.id}/transactions").json()["items"][0]
    assert (row["id"], row["transaction_reason"], row["credit_amount"]) == (
        body["capture_transaction_id"],
        "HOLD_CAPTURE",
        "12.5",
    )
    wallet = api_client.get(f"/v1/wallets/{funded.id}").json()
    assert (wallet["credit_balance"], wallet["held_credits"], wallet["available_credit_balance"]) == ("87.5", "0", "87.5")
    assert api_client.get(f"/v1/wallets/{funded.id}/holds", {"status": "held"}).json()["items"] == []


def test_replay_and_conflict(api_client, funded):
    first = place(api_client, funded, credits="10")
    again = place(api_client, funded, credits="10")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    conflict = place(api_client, funded, credits="11")
    assert conflict.status_code == 409 and conflict.json()["code"] == "already_exists"
    hold_id = first.json()["id"]
    assert api_client.post(f"/v1/holds/{hold_id}/release", {"idempotency_key": "r"}, format="json").status_code == 200
    assert api_client.post(f"/v1/holds/{hold_id}/release", {"idempotency_key": "r"}, format="json").status_code == 200
    refused = api_client.post(f"/v1/holds/{hold_id}/capture", {"idempotency_key": "c"}, format="json")
    assert refused.status_code == 400 and "released" in refused.json()["message"]
    assert WalletHold.objects.get().hold_status == "released"


def test_idempotency_key_from_the_header(api_client, funded):
    response = api_client.post(
        f"/v1/wallets/{funded.id}/holds", {"credits": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="from-header"
    )
    assert response.status_code == 201 and response.json()["idempotency_key"] == "from-header"


def test_insufficient_is_the_debits_error(api_client, funded):
    response = place(api_client, funded, credits="100.5")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_operation"
    assert body["details"]["available_credits"] == "100"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"credits": "-1"}, "credits"),
        ({"credits": "1", "expires_in_seconds": 10}, "expires_in_seconds"),
        ({"credits": "1", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"credits": "1", "idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "x"}, "credits"),
    ],
)
def test_bad_input_names_the_field(api_client, funded, body, field):
    response = api_client.post(f"/v1/wallets/{funded.id}/holds", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not WalletHold.objects.exists()


def test_capture_beyond_the_hold_names_credits(api_client, funded):
    hold = holds.hold_place(funded, credits=D("5"), idempotency_key="h").hold
    response = api_client.post(f"/v1/holds/{hold.id}/capture", {"credits": "6", "idempotency_key": "c"}, format="json")
    assert response.status_code == 400 and response.json()["details"]["field"] == "credits"


def test_unknown_hold_is_404(api_client):
    response = api_client.get("/v1/holds/hold_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
