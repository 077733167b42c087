"""Forms of the support actions on wallets (the admin's intermediate pages in wallets.admin.actions).

They check the shape of what staff type, with the same rules as the API (wallets.ledger.money,
core.inputs), so a bad value is a form error and nothing is written. Whether the action is
allowed for a given wallet (frozen, closed, enough credits...) is the service's decision, made
when the action is applied.

Every form carries ``request_id``, a UUID drawn when the page is first shown: the ledger
idempotency key of each wallet's write derives from it, so submitting the same page twice
moves money once.
"""

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone

from core import inputs
from core.exceptions import ValidationFailed
from wallets import selectors
from wallets.ledger import money
from wallets.models import Wallet, WalletTransaction
from wallets.services import TOP_UP_REASONS

Reason = WalletTransaction.Reason
# What each top-up reason means, in the words support staff use.
TOP_UP_REASON_HELP = {
    Reason.FREE_CREDIT_GRANT: "free credits (goodwill, promotion)",
    Reason.PURCHASED_CREDIT_DIRECT: "credits the customer paid for, outside an invoice",
    Reason.PURCHASED_CREDIT_INVOICED: "credits the customer buys on an invoice: added once the invoice is paid",
    Reason.SUBSCRIPTION_CREDIT_GRANT: "credits included in the customer's subscription",
    Reason.CREDIT_NOTE: "credits given back against an invoice (credit note)",
    Reason.INVOICE_VOID_REFUND: "refund of a voided invoice",
}
ADMIN_TOP_UP_REASONS = [reason for reason in TOP_UP_REASONS if reason in TOP_UP_REASON_HELP]
JUSTIFICATION_MAX_LENGTH = inputs.MAX_METADATA_VALUE_LENGTH  # it is stored in the row's metadata too
REASON_MAX_LENGTH = 2000


def _service_checked(check, *args, **kwargs):
    """Run a wallets.ledger.money / core.inputs check and turn its refusal into a form error."""
    try:
        return check(*args, **kwargs)
    except ValidationFailed as exc:
        raise forms.ValidationError(exc.message) from None


class CreditsField(forms.Field):
    """A positive quantity of credits (or currency) that fits numeric(20,9): read exactly, never rounded."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        value = value.strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        parsed = _service_checked(money.parse_decimal, value, field=self.label)
        return _service_checked(money.check_credits, parsed, field=self.label)


class FutureDateTimeField(forms.DateTimeField):
    """An instant after now, typed in UTC with the browser's date-time picker."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def clean(self, value):
        value = super().clean(value)
        return _service_checked(inputs.check_future, value, field=self.label, now=timezone.now())


def _required_text(label: str, help_text: str, max_length: int) -> forms.CharField:
    return forms.CharField(
        label=label, help_text=help_text, max_length=max_length, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


class WalletActionForm(forms.Form):
    """What every action form has: the request id, and the wallets it applies to."""

    required_css_class = "required"  # the admin shows these labels in bold
    request_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, wallets: list[Wallet], **kwargs):
        super().__init__(*args, **kwargs)
        self.wallets = wallets


class TopUpForm(WalletActionForm):
    credits = CreditsField(
        label="Credits", required=False, help_text="Credits to add to each wallet. Give credits or an amount, not both."
    )
    amount = CreditsField(
        label="Amount",
        required=False,
        help_text="Or: an amount of the wallet's currency, converted at the wallet's top-up conversion rate.",
    )
    reason = forms.ChoiceField(
        label="Reason",
        choices=[(reason, f"{reason}: {TOP_UP_REASON_HELP[reason]}") for reason in ADMIN_TOP_UP_REASONS],
        initial=Reason.FREE_CREDIT_GRANT,
        help_text="Recorded as the transaction reason.",
    )
    expiry_date = FutureDateTimeField(
        label="Expires at (UTC)", required=False, help_text="Optional. Unused credits of this top-up expire then."
    )
    priority = forms.IntegerField(
        label="Priority",
        required=False,
        min_value=0,
        max_value=inputs.MAX_PRIORITY,
        help_text="Optional. Lower numbers are spent first; empty means after every prioritised lot.",
    )
    justification = _required_text(
        "Justification",
        "Required. Why these credits are given (ticket number, approval...). Stored on the transaction.",
        JUSTIFICATION_MAX_LENGTH,
    )

    def __init__(self, *args, credit_limit: Decimal | None, **kwargs):
        """``credit_limit``: the most credits this user may add to one wallet, or None for no limit."""
        super().__init__(*args, **kwargs)
        self.credit_limit = credit_limit

    def clean(self):
        data = super().clean()
        credits, amount = data.get("credits"), data.get("amount")
        if self.errors.keys() & {"credits", "amount"}:
            return data
        if (credits is None) == (amount is None):
            raise forms.ValidationError("Give either credits or an amount (exactly one of the two).")
        if self.credit_limit is not None:
            over = [wallet for wallet in self.wallets if self.credits_for(wallet) > self.credit_limit]
            if over:
                raise forms.ValidationError(
                    "You may add at most %(limit)s credits to one wallet; %(count)d wallet(s) would get more. "
                    "Ask a member of Finance for a larger top-up.",
                    params={"limit": money.format_decimal(self.credit_limit), "count": len(over)},
                )
        return data

    def credits_for(self, wallet: Wallet) -> Decimal:
        """The credits ``wallet`` receives: the credits given, or the amount at its top-up rate."""
        if self.cleaned_data["credits"] is not None:
            return self.cleaned_data["credits"]
        return money.amount_to_credits(self.cleaned_data["amount"], rate=wallet.topup_conversion_rate)


class DebitForm(WalletActionForm):
    credits = CreditsField(
        label="Credits",
        help_text="Credits to take from each wallet. A manual debit may take the balance below zero.",
    )
    justification = _required_text(
        "Justification",
        "Required. Why these credits are taken. Stored on the transaction.",
        JUSTIFICATION_MAX_LENGTH,
    )


class FreezeForm(WalletActionForm):
    reason = _required_text("Reason", "Required. Shown in the wallet's freeze history.", REASON_MAX_LENGTH)
    until = FutureDateTimeField(
        label="Frozen until (UTC)",
        required=False,
        help_text="Optional. The wallet is unfrozen automatically then; empty means until someone unfreezes it.",
    )


class UnfreezeForm(WalletActionForm):
    reason = _required_text("Reason", "Required. Shown in the wallet's freeze history.", REASON_MAX_LENGTH)


class TerminateForm(WalletActionForm):
    reason = _required_text("Reason", "Required. Shown in the wallet's history.", REASON_MAX_LENGTH)


class TransferForm(WalletActionForm):
    """Credits from the one selected wallet to another of its customer's (wallets.services.transfers)."""

    to_wallet = forms.ChoiceField(
        label="To wallet",
        help_text="Another active wallet of the same customer, currency and conversion rate.",
    )
    credits = CreditsField(
        label="Credits",
        help_text="Credits to move. They leave in the wallet's consumption order and keep their expiry and priority.",
    )
    justification = _required_text(
        "Note",
        "Required. Why the credits move. Stored on the transactions and in the staff activity log.",
        JUSTIFICATION_MAX_LENGTH,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The choices are the only destinations the form accepts: another customer's wallet cannot be posted.
        source = self.wallets[0] if len(self.wallets) == 1 else None
        self.destinations = {wallet.pk: wallet for wallet in selectors.transfer_destinations(source)} if source else {}
        self.fields["to_wallet"].choices = [
            (pk, f"{wallet} · {wallet.get_wallet_type_display()} · {money.format_decimal(wallet.credit_balance)} credits ({pk})")
            for pk, wallet in self.destinations.items()
        ]

    def clean(self):
        data = super().clean()
        if len(self.wallets) != 1:
            raise forms.ValidationError("Select exactly one wallet to transfer credits from.")
        if not self.destinations:
            raise forms.ValidationError(
                "The customer has no other active wallet of this currency and conversion rate to transfer credits to."
            )
        return data


class ReleaseHoldsForm(WalletActionForm):
    reason = _required_text("Reason", "Required. Kept in the staff activity log and the wallet's history.", REASON_MAX_LENGTH)


TERMINATE_CONFIRMATION_WORD = "TERMINATE"


class TerminateConfirmForm(forms.Form):
    """Asked on the review page: termination cannot be undone, so it must be typed, not clicked."""

    confirmation = forms.CharField(
        label=f"Type {TERMINATE_CONFIRMATION_WORD} to confirm",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_confirmation(self):
        value = self.cleaned_data["confirmation"]
        if value.strip() != TERMINATE_CONFIRMATION_WORD:
            raise forms.ValidationError(f"Type {TERMINATE_CONFIRMATION_WORD} in capitals to terminate.")
        return value
