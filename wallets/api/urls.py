"""Wallet routes under /v1 (static segments before ids: /wallets/search wins over /wallets/{id})."""

urlpatterns = []
