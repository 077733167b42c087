"""The top-up action: form, review, confirmation, and what lands in the ledger."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from tests.admin.flows import REQUEST_ID, apply, messages_of, post_step
from wallets import services
from wallets.admin.display import change_url

pytestmark = pytest.mark.django_db

TOP_UP = {"credits": "25.5", "reason": "FREE_CREDIT_GRANT", "justification": "Goodwill, ticket #4411"}


def test_first_page_shows_the_form_and_writes_nothing(support, funded_wallet):
    response = post_step(support, "top_up", [funded_wallet])

    assert response.status_code == 200
    assert response.context["reviewing"] is False
    assert "justification" in response.context["form"].fields
    assert funded_wallet.transactions.count() == 1


def test_review_says_what_will_happen_and_writes_nothing(support, funded_wallet):
    response = post_step(support, "top_up", [funded_wallet], "review", **TOP_UP)

    assert response.context["reviewing"] is True
    page = response.content.decode()
    assert "Adds <strong>25.5 credits</strong> (worth 25.5 USD) as FREE_CREDIT_GRANT" in page
    assert "Goodwill, ticket #4411" in page
    assert 'value="apply"' in page
    assert funded_wallet.transactions.count() == 1


def test_confirmed_top_up_writes_one_credit_row_with_the_justification(support, funded_wallet):
    expiry = (datetime.now(UTC) + timedelta(days=30)).replace(second=0, microsecond=0)

    response = apply(support, "top_up", [funded_wallet], **TOP_UP, expiry_date=expiry.strftime("%Y-%m-%dT%H:%M"), priority="3")

    assert messages_of(response) == ["1 topped up"]
    row = funded_wallet.transactions.order_by("-sequence").first()
    assert row.type == "credit"
    assert row.transaction_reason == "FREE_CREDIT_GRANT"
    assert row.credit_amount == Decimal("25.5")
    assert row.credit_balance_after == Decimal("125.5")
    assert row.expiry_date == expiry
    assert row.priority == 3
    assert row.description == "Goodwill, ticket #4411"
    assert row.metadata == {"justification": "Goodwill, ticket #4411"}
    assert row.idempotency_key == f"admin:{REQUEST_ID}:{funded_wallet.pk}"
    assert row.created_by == "user:sam"
    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == Decimal("125.5")
    entry = LogEntry.objects.get(object_id=funded_wallet.pk)
    assert entry.user.username == "sam"
    assert row.id in entry.get_change_message()
    # Its readers, beside the staff activity log: the wallet's History page and the index's "Recent actions".
    assert row.id in support.get(f"/admin/wallets/wallet/{funded_wallet.pk}/history/").content.decode()
    recent = support.get("/admin/").content.decode().partition('<ul class="actionlist">')[2].partition("</ul>")[0]
    assert entry.object_repr in recent


def test_amount_is_converted_at_the_wallets_top_up_rate(finance, make_wallet):
    wallet = make_wallet(conversion_rate=Decimal("0.5"), topup_conversion_rate=Decimal("0.25"))

    apply(finance, "top_up", [wallet], amount="10", reason="PURCHASED_CREDIT_DIRECT", justification="paid by wire")

    row = wallet.transactions.get()
    assert row.credit_amount == Decimal("40")
    assert row.amount == Decimal("10")
    assert row.transaction_reason == "PURCHASED_CREDIT_DIRECT"


def test_double_submit_of_the_confirmation_credits_once(support, funded_wallet):
    first = apply(support, "top_up", [funded_wallet], **TOP_UP)
    second = post_step(support, "top_up", [funded_wallet], "apply", **TOP_UP)

    assert messages_of(first) == ["1 topped up"]
    assert messages_of(second) == ["0 topped up, 1 already topped up by an earlier submit of this page (not repeated)"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == Decimal("125.5")
    assert funded_wallet.transactions.count() == 2
    assert LogEntry.objects.filter(object_id=funded_wallet.pk).count() == 1


def test_each_wallet_is_reported_and_a_frozen_one_is_refused(support, make_customer, make_wallet):
    wallets = [make_wallet(owner=make_customer()) for _ in range(4)]
    services.wallet_freeze(wallets[2], reason="chargeback")

    response = apply(support, "top_up", wallets, **TOP_UP)

    assert messages_of(response) == [f"3 topped up, 1 refused: Wallet is frozen [{wallets[2].pk}]"]
    assert [w.transactions.count() for w in wallets] == [1, 1, 0, 1]


def test_review_warns_that_a_frozen_wallet_will_be_refused(support, funded_wallet):
    services.wallet_freeze(funded_wallet, reason="chargeback")

    response = post_step(support, "top_up", [funded_wallet], "review", **TOP_UP)

    assert "Will be refused: this wallet is frozen." in response.content.decode()


def test_closed_wallet_is_refused(support, funded_wallet):
    services.wallet_terminate(funded_wallet, reason="customer left")

    response = apply(support, "top_up", [funded_wallet], **TOP_UP)

    assert messages_of(response) == [f"0 topped up, 1 refused: Wallet is not active [{funded_wallet.pk}]"]
    assert not funded_wallet.transactions.filter(type="credit", sequence__gt=1).exists()


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"credits": "-5"}, "credits", "Credits must be a positive value"),
        ({"credits": "0"}, "credits", "Credits must be a positive value"),
        ({"credits": "1.0000000001"}, "credits", "Credits has more than 9 decimal places"),
        ({"credits": "abc"}, "credits", "Credits must be a decimal number written with ASCII digits"),
        ({"credits": "١٢"}, "credits", "Credits must be a decimal number written with ASCII digits"),
        ({"credits": "123456789012"}, "credits", "Credits has more than 11 integer digits"),
        ({"credits": "", "amount": ""}, "__all__", "Give either credits or an amount (exactly one of the two)."),
        ({"credits": "1", "amount": "1"}, "__all__", "Give either credits or an amount (exactly one of the two)."),
        ({"justification": "  "}, "justification", "This field is required."),
        ({"reason": "MANUAL_BALANCE_DEBIT"}, "reason", "Select a valid choice."),
        ({"expiry_date": "2001-01-01T00:00"}, "expiry_date", "Expiry date must be in the future"),
        ({"priority": "-1"}, "priority", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_written(support, funded_wallet, fields, field, error):
    response = post_step(support, "top_up", [funded_wallet], "apply", **{**TOP_UP, **fields})

    assert response.status_code == 200
    assert not response.redirect_chain
    assert response.context["reviewing"] is False
    assert any(error in message for message in response.context["form"].errors[field])
    assert funded_wallet.transactions.count() == 1


def test_support_may_not_top_up_above_its_limit(support, funded_wallet, settings):
    settings.SUPPORT_TOP_UP_LIMIT = 1000

    response = post_step(support, "top_up", [funded_wallet], "apply", **{**TOP_UP, "credits": "1000.5"})

    assert response.context["reviewing"] is False
    assert "You may add at most 1000 credits to one wallet" in response.content.decode()
    assert funded_wallet.transactions.count() == 1


def test_support_limit_counts_credits_bought_by_an_amount(support, make_wallet):
    wallet = make_wallet(topup_conversion_rate=Decimal("0.01"))  # 20 USD buys 2000 credits

    response = post_step(support, "top_up", [wallet], "apply", **{**TOP_UP, "credits": "", "amount": "20"})

    assert "You may add at most 1000 credits" in response.content.decode()
    assert not wallet.transactions.exists()


def test_support_may_top_up_exactly_its_limit(support, funded_wallet):
    response = apply(support, "top_up", [funded_wallet], **{**TOP_UP, "credits": "1000"})

    assert messages_of(response) == ["1 topped up"]


def test_finance_has_no_limit(finance, funded_wallet):
    response = apply(finance, "top_up", [funded_wallet], **{**TOP_UP, "credits": "250000"})

    assert messages_of(response) == ["1 topped up"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == Decimal("250100")


def test_reusing_a_request_id_with_other_values_is_refused(support, funded_wallet):
    apply(support, "top_up", [funded_wallet], **TOP_UP)

    response = post_step(support, "top_up", [funded_wallet], "apply", **{**TOP_UP, "credits": "7"})

    (message,) = messages_of(response)
    assert message.startswith("0 topped up, 1 refused: A wallet transaction with this idempotency key already exists")
    assert funded_wallet.transactions.count() == 2


def test_started_from_the_wallet_page_it_returns_there(support, funded_wallet):
    response = apply(support, "top_up", [funded_wallet], **TOP_UP, origin="detail")

    assert response.redirect_chain == [(change_url(funded_wallet), 302)]


def test_back_button_returns_to_the_filled_form(support, funded_wallet):
    response = post_step(support, "top_up", [funded_wallet], "apply", **TOP_UP, _back="1")

    assert response.context["reviewing"] is False
    assert response.context["form"]["credits"].value() == "25.5"
    assert funded_wallet.transactions.count() == 1


def test_more_wallets_than_one_page_handles_are_refused_whole(support, make_customer, make_wallet, monkeypatch):
    monkeypatch.setattr("wallets.admin.actions.MAX_WALLETS", 2)
    wallets = [make_wallet(owner=make_customer()) for _ in range(3)]

    response = support.post(
        "/admin/wallets/wallet/",
        {"action": "top_up", "select_across": "1", "index": "0", "_selected_action": [wallets[0].pk]},
        follow=True,
    )

    assert messages_of(response) == ["Select at most 2 wallets for one action; nothing was done."]
    assert not any(wallet.transactions.exists() for wallet in wallets)
