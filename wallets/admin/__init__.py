"""The support back-office (Django admin): an adapter over wallets.services and the selectors.

Django's admin autodiscovery imports this package; importing the page modules registers them.
Every page that shows wallets lives here, the customer page included (it lists a customer's
wallets), so customers/ stays free of wallet code. Nothing in this package writes a balance or
a status: the support actions call wallets.services.

- wallet.py: the wallet and wallet-transaction pages and their support actions;
- customer.py: the customer page, with its wallets and open holds;
- transfers.py: the transfers' list and pages (read-only);
- actions.py: the shared three-step flow of a support action (form, confirmation, result);
- forms.py: the action forms, checked with the same rules as the API;
- display.py: how credits, statuses, links and the balance chart are shown;
- export.py: the transactions CSV export;
- selectors.py: the read-side queries only these pages make.
"""

from wallets.admin import customer, transfers, wallet  # noqa: F401  (imported to register their pages)
