"""Four eyes in a real browser (Playwright driving Debian's Chromium against the live server).

A Support agent tops up more than the tenant's threshold: the review warns that approval is
needed, confirming posts nothing and names the request; on the request's page the agent has no
Approve button. A member of Finance finds the request from the index's card, approves it, and the
balance moves; the staff activity log holds the request and the approval. Screenshots go to
test-artifacts/screenshots/approval-*.png.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from backoffice.models import ApprovalRequest, StaffAction
from tests.admin.browser import browser_page, log_in, shoot
from tests.admin.flows import PASSWORD
from wallets.models import Wallet

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def staff(username: str, group: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_a_top_up_above_the_threshold_waits_for_a_second_staff_member(live_server, page, support_groups, wallet):
    wallet.tenant.approval_threshold_credits = Decimal("500")
    wallet.tenant.save(update_fields=["approval_threshold_credits"])
    staff("sam", "Support")
    staff("fiona", "Finance")

    # the agent asks: the review says beforehand that approval is needed
    log_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/admin/wallets/wallet/{wallet.pk}/change/")
    page.get_by_role("button", name="Top up…").click()
    page.fill("#id_credits", "800")
    page.fill("#id_justification", "Annual contract, ticket #7001")
    page.get_by_role("button", name=re.compile(r"^Review ")).click()
    expect(page.locator(".wallet-action-wallets")).to_contain_text(
        "Needs approval: more than this tenant's threshold of 500 credits"
    )
    shoot(page, "approval-01-review")
    page.get_by_role("button", name=re.compile(r"^Confirm: ")).click()
    approval = ApprovalRequest.objects.get()
    expect(page.locator("ul.messagelist li")).to_have_text([f"Waiting for approval by a second staff member: {approval.pk}"])
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 0

    # on the request's page the agent cannot approve their own request
    page.goto(f"{live_server.url}/admin/backoffice/approvalrequest/{approval.pk}/change/")
    expect(page.locator("#approval-decision")).to_contain_text("another staff member with the approve permission must decide it")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel this request")).to_have_count(1)
    shoot(page, "approval-02-requester-view")

    # Finance sees it waiting on the index and approves it
    page.context.clear_cookies()
    log_in(page, live_server, "fiona")
    card = page.locator("#overview-approvals")
    expect(card).to_contain_text("1 of them wait for you")
    shoot(page, "approval-03-index")
    card.get_by_role("link", name="1").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    shoot(page, "approval-04-list")
    page.locator("#result_list tbody tr td.field-id_column a").first.click()
    page.fill("#id_decision_note", "Contract countersigned")
    shoot(page, "approval-05-decide")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("ul.messagelist li")).to_contain_text(f"Approved {approval.pk}: top-up of 800 credits")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    shoot(page, "approval-06-approved")

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by.username, approval.decision_note) == (
        "approved",
        "fiona",
        "Contract countersigned",
    )
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == Decimal("800")
    assert approval.transaction.created_by == "user:fiona"
    logged = list(StaffAction.objects.order_by("id").values_list("staff", "kind", "outcome"))
    assert logged == [("sam", "approval_requested", "done"), ("fiona", "approval_approved", "done")]
