"""Support releases a stuck hold: the wallet page lists open holds; the action is form → review → confirm, logged."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from backoffice.models import StaffAction
from tests.admin.flows import apply, messages_of, post_step
from wallets.models import WalletHold
from wallets.services import holds

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def stuck(funded_wallet):
    return holds.hold_place(funded_wallet, credits=D("40"), idempotency_key="job-7", description="render job 7").hold


def test_wallet_page_lists_open_holds(support, funded_wallet, stuck):
    page = support.get(f"/admin/wallets/wallet/{funded_wallet.pk}/change/").content.decode()
    assert "Open holds (1)" in page and stuck.pk in page and "render job 7" in page
    assert "wallet-tool--release_holds" in page
    holds.hold_release(stuck, idempotency_key="done")
    page = support.get(f"/admin/wallets/wallet/{funded_wallet.pk}/change/").content.decode()
    assert "Open holds (0)" in page and "wallet-tool--release_holds" not in page  # the button only with a hold to release


def test_release_needs_a_reason_then_a_review(support, funded_wallet, stuck):
    form = post_step(support, "release_holds", [funded_wallet], "review", reason="")
    assert not form.context["reviewing"] and "reason" in form.context["form"].errors
    review = post_step(support, "release_holds", [funded_wallet], "review", reason="Job crashed, hold stuck")
    assert f"{stuck.pk} (40 credits" in review.content.decode()
    stuck.refresh_from_db()
    assert stuck.hold_status == "held"  # the review changes nothing


def test_release_applies_logs_and_replays(support, funded_wallet, stuck):
    response = apply(support, "release_holds", [funded_wallet], reason="Job crashed, hold stuck")
    assert messages_of(response) == ["1 released"]
    stuck.refresh_from_db()
    assert (stuck.hold_status, stuck.updated_by) == ("released", "user:sam")
    funded_wallet.refresh_from_db()
    assert (funded_wallet.held_credits, funded_wallet.credit_balance) == (0, D("100"))
    entry = StaffAction.objects.get(kind="release_holds")
    assert (entry.staff, entry.note, entry.outcome) == ("sam", "Job crashed, hold stuck", "done")
    assert stuck.pk in entry.result
    assert LogEntry.objects.get(object_id=funded_wallet.pk).get_change_message().startswith("Released holds")
    # The same page confirmed again replays instead of releasing anything new.
    again = post_step(support, "release_holds", [funded_wallet], "apply", reason="Job crashed, hold stuck")
    assert messages_of(again) == ["0 released, 1 already released by an earlier submit of this page (not repeated)"]


def test_only_staff_with_the_permission_may_release(viewer, finance, funded_wallet, stuck):
    for client in (viewer, finance):
        response = post_step(client, "release_holds", [funded_wallet], "review", reason="x")
        assert response.status_code == 403
    assert WalletHold.objects.get().hold_status == "held"
