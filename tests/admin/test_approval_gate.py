"""The wallet actions' four-eyes gate: above the tenant's threshold a top-up or debit waits as an approval request."""

from decimal import Decimal

import pytest

from backoffice.models import ApprovalRequest, StaffAction
from tests.admin.flows import REQUEST_ID, apply, messages_of, post_step
from wallets import services

pytestmark = pytest.mark.django_db
D = Decimal
JUSTIFICATION = "Contract renewal, ticket #7"


@pytest.fixture
def threshold(funded_wallet):
    funded_wallet.tenant.approval_threshold_credits = D("1000")
    funded_wallet.tenant.save(update_fields=["approval_threshold_credits"])


def top_up(credits: str) -> dict:
    return {"credits": credits, "reason": "FREE_CREDIT_GRANT", "justification": JUSTIFICATION}


def test_review_says_beforehand_that_approval_is_needed(finance, funded_wallet, threshold):
    page = post_step(finance, "top_up", [funded_wallet], "review", **top_up("1000.5")).content.decode()
    assert "Needs approval:" in page and "threshold of 1000 credits" in page
    assert "Four eyes:" in page
    at_threshold = post_step(finance, "top_up", [funded_wallet], "review", **top_up("1000")).content.decode()
    assert "Needs approval" not in at_threshold


def test_above_the_threshold_a_top_up_waits_and_posts_nothing(finance, funded_wallet, threshold):
    response = apply(finance, "top_up", [funded_wallet], **top_up("5000"))

    approval = ApprovalRequest.objects.get()
    assert messages_of(response) == [f"Waiting for approval by a second staff member: {approval.pk}"]
    assert (approval.status, approval.credits, approval.operation, approval.note) == (
        "pending",
        D("5000"),
        "top_up",
        JUSTIFICATION,
    )
    assert approval.request_key == f"admin:{REQUEST_ID}:{funded_wallet.pk}"
    assert funded_wallet.transactions.count() == 1  # only the funding
    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == D("100")
    assert StaffAction.objects.filter(kind="approval_requested", staff="fiona", target_id=funded_wallet.pk).count() == 1
    assert not StaffAction.objects.filter(kind="top_up").exists()


def test_submitting_the_confirmation_twice_asks_once(finance, funded_wallet, threshold):
    apply(finance, "top_up", [funded_wallet], **top_up("5000"))
    again = post_step(finance, "top_up", [funded_wallet], "apply", **top_up("5000"))
    approval = ApprovalRequest.objects.get()
    assert messages_of(again) == [f"Waiting for approval by a second staff member: {approval.pk} (asked before, now pending)"]
    assert list(StaffAction.objects.order_by("id").values_list("outcome", flat=True)) == ["done", "repeated"]


def test_at_the_threshold_it_posts_as_before(finance, funded_wallet, threshold):
    response = apply(finance, "top_up", [funded_wallet], **top_up("1000"))
    assert messages_of(response) == ["1 topped up"]
    assert not ApprovalRequest.objects.exists()


def test_a_debit_above_the_threshold_waits(finance, funded_wallet, threshold):
    response = apply(finance, "debit", [funded_wallet], credits="1500", justification=JUSTIFICATION)
    approval = ApprovalRequest.objects.get()
    assert messages_of(response) == [f"Waiting for approval by a second staff member: {approval.pk}"]
    assert approval.arguments == {
        "credits": "1500",
        "reason": "MANUAL_BALANCE_DEBIT",
        "description": JUSTIFICATION,
        "metadata": {"justification": JUSTIFICATION},
    }


def test_a_superuser_waits_too(superuser_client, funded_wallet, threshold):
    response = apply(superuser_client, "top_up", [funded_wallet], **top_up("5000"))
    assert messages_of(response)[0].startswith("Waiting for approval")
    assert funded_wallet.transactions.count() == 1


def test_mixed_selection_reports_each_part(finance, funded_wallet, make_wallet, threshold):
    frozen = make_wallet(currency="eur")
    services.wallet_freeze(frozen, reason="Card stolen")
    response = apply(finance, "top_up", [funded_wallet, frozen], **top_up("5000"))
    approval = ApprovalRequest.objects.get()
    assert approval.wallet_id == funded_wallet.pk  # a frozen wallet is refused at once, not sent for approval
    [message] = messages_of(response)
    assert message.startswith(f"Waiting for approval by a second staff member: {approval.pk}, 1 refused: ")


def test_without_a_threshold_nothing_waits(finance, funded_wallet):
    response = apply(finance, "top_up", [funded_wallet], **top_up("5000"))
    assert messages_of(response) == ["1 topped up"]
    assert not ApprovalRequest.objects.exists()
