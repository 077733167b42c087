"""The freeze and unfreeze actions, and the history they leave."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry

from tests.admin.flows import apply, messages_of, post_step
from wallets import services
from wallets.models import WalletStatusChange

pytestmark = pytest.mark.django_db


def test_freeze_with_until_records_who_when_and_why(support, funded_wallet):
    until = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)

    review = post_step(
        support, "freeze", [funded_wallet], "review", reason="Chargeback dispute", until=until.strftime("%Y-%m-%dT%H:%M")
    )
    assert f"Freezes the wallet until {until:%Y-%m-%d %H:%M} UTC" in review.content.decode()
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "active"

    response = apply(support, "freeze", [funded_wallet], reason="Chargeback dispute", until=until.strftime("%Y-%m-%dT%H:%M"))

    assert messages_of(response) == ["1 frozen"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "frozen"
    assert funded_wallet.frozen_until == until
    change = WalletStatusChange.objects.get(wallet=funded_wallet)
    assert (change.action, change.reason, change.until, change.created_by) == ("freeze", "Chargeback dispute", until, "user:sam")
    assert LogEntry.objects.get(object_id=funded_wallet.pk).get_change_message().startswith("Frozen until")


def test_unfreeze_makes_the_wallet_active(support, funded_wallet):
    services.wallet_freeze(funded_wallet, reason="check")

    response = apply(support, "unfreeze", [funded_wallet], reason="Dispute resolved")

    assert messages_of(response) == ["1 unfrozen"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "active"
    assert WalletStatusChange.objects.filter(wallet=funded_wallet).first().action == "unfreeze"


def test_freezing_a_frozen_or_closed_wallet_is_refused(support, make_customer, make_wallet):
    frozen, closed = make_wallet(owner=make_customer()), make_wallet(owner=make_customer())
    services.wallet_freeze(frozen, reason="x")
    services.wallet_terminate(closed, reason="x")

    response = apply(support, "freeze", [frozen, closed], reason="again")

    (message,) = messages_of(response)
    assert message.startswith("0 frozen, ")
    assert f"1 refused: Only an active wallet can be frozen; this one is frozen [{frozen.pk}]" in message
    assert f"1 refused: Only an active wallet can be frozen; this one is closed [{closed.pk}]" in message
    assert WalletStatusChange.objects.filter(action="freeze").count() == 1


def test_unfreezing_an_active_wallet_is_refused(support, funded_wallet):
    response = apply(support, "unfreeze", [funded_wallet], reason="why not")

    assert messages_of(response) == [
        f"0 unfrozen, 1 refused: Only a frozen wallet can be unfrozen; this one is active [{funded_wallet.pk}]"
    ]


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [
        ("freeze", {"reason": ""}, "reason"),
        ("freeze", {"reason": "x", "until": "2000-01-01T00:00"}, "until"),
        ("freeze", {"reason": "x", "until": "not a date"}, "until"),
        ("unfreeze", {"reason": "   "}, "reason"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_changes(support, funded_wallet, action, fields, field):
    if action == "unfreeze":
        services.wallet_freeze(funded_wallet, reason="x")
    status = funded_wallet.__class__.objects.get(pk=funded_wallet.pk).wallet_status

    response = post_step(support, action, [funded_wallet], "apply", **fields)

    assert response.context["form"].errors[field]
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == status
