"""The "Transfer credits" action (Finance): form → review with both wallets before/after → confirm.

And the transaction page of a transfer's row links the rows on both sides.
"""

from decimal import Decimal

import pytest

from backoffice.models import StaffAction
from tests.admin.flows import REQUEST_ID, apply, messages_of, post_step
from wallets import services
from wallets.admin.display import change_url
from wallets.models import Wallet, WalletTransaction, WalletTransfer

pytestmark = pytest.mark.django_db

NOTE = "Customer asked to move credits to the promo wallet, ticket #51"


@pytest.fixture
def promo(make_wallet, credit):
    wallet = make_wallet(wallet_type="PROMOTIONAL")
    credit(5, target=wallet)
    return wallet


def fields(destination, credits="30", note=NOTE):
    return {"to_wallet": destination.pk, "credits": credits, "justification": note}


def test_review_shows_both_wallets_before_and_after_then_confirm_moves_once(finance, funded_wallet, promo):
    form = post_step(finance, "transfer", [funded_wallet])
    assert [pk for pk, _ in form.context["form"].fields["to_wallet"].choices] == [promo.pk]
    review = post_step(finance, "transfer", [funded_wallet], "review", **fields(promo))
    page = review.content.decode()
    assert "Moves <strong>30 credits</strong>" in page
    assert "This wallet: 100 → <strong>70</strong> credits." in page
    assert ": 5 → <strong>35</strong> credits." in page
    assert not WalletTransfer.objects.exists()  # the review writes nothing

    response = apply(finance, "transfer", [funded_wallet], **fields(promo))

    assert messages_of(response) == ["1 transferred"]
    transfer = WalletTransfer.objects.get()
    assert (transfer.from_wallet_id, transfer.to_wallet_id, transfer.credits) == (funded_wallet.pk, promo.pk, Decimal(30))
    assert transfer.debit.idempotency_key == f"admin:{REQUEST_ID}:{funded_wallet.pk}"
    assert transfer.debit.description == NOTE and transfer.created_by == "user:fiona"
    assert [Wallet.objects.get(pk=w.pk).credit_balance for w in (funded_wallet, promo)] == [Decimal(70), Decimal(35)]
    entry = StaffAction.objects.get()
    assert (entry.staff, entry.kind, entry.target_id, entry.note, entry.outcome) == (
        "fiona",
        "transfer",
        funded_wallet.pk,
        NOTE,
        "done",
    )
    assert transfer.pk in entry.result

    # The same page submitted again moves nothing more.
    again = post_step(finance, "transfer", [funded_wallet], "apply", **fields(promo))
    assert messages_of(again) == ["0 transferred, 1 already transferred by an earlier submit of this page (not repeated)"]
    assert WalletTransfer.objects.count() == 1


def test_the_note_is_mandatory_and_only_the_customers_wallets_are_offered(
    finance, funded_wallet, promo, make_wallet, make_customer
):
    stranger = make_wallet(make_customer())
    review = post_step(finance, "transfer", [funded_wallet], "review", **fields(promo, note=""))
    assert not review.context["reviewing"] and "justification" in review.context["form"].errors
    forged = post_step(finance, "transfer", [funded_wallet], "review", **fields(stranger))
    assert not forged.context["reviewing"] and "to_wallet" in forged.context["form"].errors
    assert not WalletTransfer.objects.exists()


def test_one_wallet_at_a_time(finance, funded_wallet, promo):
    review = post_step(finance, "transfer", [funded_wallet, promo], "review", **fields(promo))
    assert not review.context["reviewing"]
    assert "Select exactly one wallet" in str(review.context["form"].non_field_errors())


def test_refusal_is_reported_and_logged(finance, funded_wallet, promo):
    services.wallet_freeze(promo, reason="audit")
    # A frozen destination is not offered; one frozen after the review is refused by the service.
    review = post_step(finance, "transfer", [funded_wallet], "review", **fields(promo))
    assert "to_wallet" in review.context["form"].errors
    services.wallet_unfreeze(promo, reason="audit done")
    post_step(finance, "transfer", [funded_wallet], "review", **fields(promo, credits="101"))
    response = post_step(finance, "transfer", [funded_wallet], "apply", **fields(promo, credits="101"))
    assert messages_of(response) == [
        f"0 transferred, 1 refused: Insufficient balance to process debit operation [{funded_wallet.pk}]"
    ]
    assert StaffAction.objects.get().outcome == "refused"


def test_support_may_not_transfer(support, funded_wallet, promo):
    response = support.post("/admin/wallets/wallet/", {"action": "transfer", "_selected_action": [funded_wallet.pk]})
    assert response.status_code == 403
    page = support.get(f"/admin/wallets/wallet/{funded_wallet.pk}/change/").content.decode()
    assert "wallet-tool--transfer" not in page


def test_wallet_page_has_the_button_and_transaction_page_links_both_sides(finance, funded_wallet, promo):
    page = finance.get(f"/admin/wallets/wallet/{funded_wallet.pk}/change/").content.decode()
    assert "wallet-tool--transfer" in page
    result = services.wallet_transfer(funded_wallet, promo, credits=Decimal(10), idempotency_key="admin-page")
    for row in [result.debit, *result.credits]:
        page = finance.get(change_url(row)).content.decode()
        assert result.transfer.pk in page
        for linked in [result.debit, *result.credits]:
            assert change_url(linked) in page
    plain = WalletTransaction.objects.filter(wallet=funded_wallet, type="credit").first()
    assert result.transfer.pk not in finance.get(change_url(plain)).content.decode()


def test_a_customer_without_another_wallet_is_told_so(finance, funded_wallet):
    review = post_step(finance, "transfer", [funded_wallet], "review", to_wallet="", credits="1", justification=NOTE)
    assert not review.context["reviewing"]
    assert "no other active wallet" in str(review.context["form"].non_field_errors())
