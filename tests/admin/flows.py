"""Posting the support actions' pages the way the browser does (form, review, confirmation)."""

WALLETS_URL = "/admin/wallets/wallet/"
TRANSACTIONS_URL = "/admin/wallets/wallettransaction/"
PASSWORD = "correct-horse-battery"
REQUEST_ID = "3f1f1c4e-4a43-4a4c-9d0f-0e6a3c1d2b7a"


def post_step(client, action: str, wallets, step: str | None = None, **fields):
    """One post of an action page; a confirmation that applied is followed to the page it leads to."""
    data = {"action": action, "_selected_action": [wallet.pk for wallet in wallets], **fields}
    if step is not None:
        data["step"] = step
        data.setdefault("request_id", REQUEST_ID)
    return client.post(WALLETS_URL, data, follow=step == "apply")


def apply(client, action: str, wallets, **fields):
    """Review then confirm; returns the page the confirmation redirected to."""
    review = post_step(client, action, wallets, "review", **fields)
    assert review.status_code == 200, review.status_code
    assert review.context["reviewing"], review.context["form"].errors
    response = post_step(client, action, wallets, "apply", **fields)
    assert response.redirect_chain, "the confirmation did not apply"
    return response


def messages_of(response) -> list[str]:
    """The messages the page shows (reading them consumes them, as the page does)."""
    return [str(message) for message in response.context["messages"]]
