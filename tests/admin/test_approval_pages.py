"""The approval requests' admin pages: the audit list, a request's page with its decision, the CSV, the index card."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.test import Client

from backoffice import approvals
from backoffice.models import ApprovalRequest, StaffAction

pytestmark = pytest.mark.django_db
D = Decimal
LIST_URL = "/admin/backoffice/approvalrequest/"


def page_url(approval) -> str:
    return f"{LIST_URL}{quote(approval.pk)}/change/"  # as the admin links it: "apr_5F01…"


def decide_url(approval) -> str:
    return f"{LIST_URL}{quote(approval.pk)}/decide/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(make_staff):
    return {
        "sam": make_staff("sam", "Support"),  # asks
        "fiona": make_staff("fiona", "Finance"),  # decides
        "fred": make_staff("fred", "Finance"),
    }


@pytest.fixture
def ask(wallet, staff):
    wallet.tenant.approval_threshold_credits = D("1000")
    wallet.tenant.save(update_fields=["approval_threshold_credits"])

    def make(credits="5000", user="sam", note="Renewal, ticket #7", key=None):
        return approvals.request_approval(
            wallet,
            operation="top_up",
            arguments={"credits": credits, "reason": "FREE_CREDIT_GRANT"},
            note=note,
            user=staff[user],
            request_key=key or f"page-{credits}-{user}",
        ).approval

    return make


def test_the_approver_sees_the_buttons_and_approving_posts(ask, staff, wallet):
    approval = ask()
    fiona = client_for(staff["fiona"])
    page = fiona.get(page_url(approval)).content.decode()
    assert 'value="approve"' in page and 'value="refuse"' in page
    assert "Renewal, ticket #7" in page

    response = fiona.post(decide_url(approval), {"decision": "approve", "decision_note": "Contract checked"}, follow=True)

    approval.refresh_from_db()
    assert approval.status == "approved"
    message = [str(m) for m in response.context["messages"]]
    assert message == [f"Approved {approval.pk}: top-up of 5000 credits on {wallet.pk}, transaction {approval.transaction_id}."]
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("5000")
    assert 'value="approve"' not in response.content.decode()  # decided: read-only now


def test_the_requester_sees_no_decision_buttons_and_a_crafted_post_is_refused(ask, staff, wallet):
    approval = ask(user="fiona")  # a Finance member asks: she has the permission, but it is her own request
    fiona = client_for(staff["fiona"])
    page = fiona.get(page_url(approval)).content.decode()
    assert 'value="approve"' not in page and 'value="refuse"' not in page
    assert 'value="cancel"' in page and "four eyes" in page

    response = fiona.post(decide_url(approval), {"decision": "approve"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was done: Four eyes: you cannot approve or refuse your own request; another staff member must."
    ]
    approval.refresh_from_db()
    assert approval.status == "pending" and wallet.transactions.count() == 0
    assert StaffAction.objects.get(kind="approval_approved").outcome == "refused"


def test_support_sees_the_request_read_only(ask, staff):
    approval = ask(user="fiona")
    sam = client_for(staff["sam"])
    page = sam.get(page_url(approval))
    assert page.status_code == 200
    assert 'id="approval-decision"' not in page.content.decode()
    refused = sam.post(decide_url(approval), {"decision": "approve"}, follow=True)
    assert "approve permission" in str(next(iter(refused.context["messages"])))


def test_a_refusal_needs_its_note(ask, staff):
    approval = ask()
    fiona = client_for(staff["fiona"])
    response = fiona.post(decide_url(approval), {"decision": "refuse", "decision_note": ""}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Nothing was done: decision_note is required."]
    fiona.post(decide_url(approval), {"decision": "refuse", "decision_note": "No contract on file"})
    approval.refresh_from_db()
    assert (approval.status, approval.decision_note) == ("refused", "No contract on file")


def test_the_requester_cancels(ask, staff):
    approval = ask()
    client_for(staff["sam"]).post(decide_url(approval), {"decision": "cancel", "decision_note": "Wrong wallet"})
    approval.refresh_from_db()
    assert approval.status == "cancelled"


def test_decide_takes_a_post_and_the_view_permission(ask, staff, make_staff):
    approval = ask()
    assert client_for(staff["fiona"]).get(decide_url(approval)).status_code == 405
    stranger = make_staff("nobody")
    assert client_for(stranger).post(decide_url(approval), {"decision": "approve"}).status_code == 403
    assert ApprovalRequest.objects.get().status == "pending"


def test_the_list_shows_pending_first_and_filters(ask, staff):
    first = ask("2000")
    second = ask("3000")
    approvals.refuse(first.pk, user=staff["fiona"], note="no")
    third = ask("4000", user="fred")
    fiona = client_for(staff["fiona"])

    listed = fiona.get(LIST_URL).context["cl"].result_list
    assert [row.pk for row in listed] == [third.pk, second.pk, first.pk]  # pending (newest first), then decided
    assert [r.pk for r in fiona.get(LIST_URL, {"status__exact": "refused"}).context["cl"].result_list] == [first.pk]
    by_fred = fiona.get(LIST_URL, {"requested_by__id__exact": staff["fred"].pk}).context["cl"].result_list
    assert [r.pk for r in by_fred] == [third.pk]
    decided_by_fiona = fiona.get(LIST_URL, {"decided_by__id__exact": staff["fiona"].pk}).context["cl"].result_list
    assert [r.pk for r in decided_by_fiona] == [first.pk]
    assert [r.pk for r in fiona.get(LIST_URL, {"operation__exact": "debit"}).context["cl"].result_list] == []


def test_the_list_exports_as_csv_with_formulas_neutralised(ask, staff):
    approval = ask(note='=HYPERLINK("http://evil")')
    response = client_for(staff["fiona"]).get(f"{LIST_URL}export.csv", {"status__exact": "pending"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["id"], row["status"], row["requested_by__username"], row["decided_by__username"]) == (
        approval.pk,
        "pending",
        "sam",
        "",
    )
    assert row["note"] == '\'=HYPERLINK("http://evil")'
    assert row["arguments"] == '{"credits": "5000", "reason": "FREE_CREDIT_GRANT"}'
    assert row["requested_at"].endswith("Z") and row["credits"] == "5000"


def test_the_index_counts_the_requests_waiting(ask, staff, make_staff):
    ask()
    ask("6000", user="fiona")
    fiona_index = client_for(staff["fiona"]).get("/admin/").content.decode()
    assert 'id="overview-approvals"' in fiona_index
    assert "1 of them wait for you to approve or refuse." in fiona_index  # her own does not count
    sam_index = client_for(staff["sam"]).get("/admin/").content.decode()
    assert 'id="overview-approvals"' in sam_index and "wait for you" not in sam_index
    assert 'id="overview-approvals"' not in client_for(make_staff("nobody")).get("/admin/").content.decode()


def test_the_search_box_opens_a_request_by_its_id(ask, staff, make_staff):
    approval = ask()
    response = client_for(staff["fiona"]).get("/admin/find/", {"q": approval.pk})
    assert response.status_code == 302 and response["Location"] == page_url(approval)
    nobody = client_for(make_staff("nobody", permissions=("wallets.view_wallet",)))
    assert nobody.get("/admin/find/", {"q": approval.pk}).context["hits"] == []


def test_the_wallet_page_says_what_waits_for_approval(ask, staff, wallet):
    sam = client_for(staff["sam"])
    assert 'id="wallet-approvals"' not in sam.get(f"/admin/wallets/wallet/{quote(wallet.pk)}/change/").content.decode()
    ask()
    page = sam.get(f"/admin/wallets/wallet/{quote(wallet.pk)}/change/").content.decode()
    assert "1 approval request waiting</a> for this wallet: it posts once" in page
