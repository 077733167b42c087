"""The support back-office's own pieces that span apps: the staff activity log, the one search box,
the customer page's summary, and the admin's layout (cells, CSS, copy button).

This is an adapter layer beside the Django admin: it calls services and selectors of the other
apps and is never imported by them outside their admin modules (the ledger core knows nothing of it).
"""
