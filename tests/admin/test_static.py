"""The back-office's assets come from the app itself (WhiteNoise), never from another host."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from tests.admin.flows import WALLETS_URL, post_step

pytestmark = pytest.mark.django_db


def test_whitenoise_serves_the_collected_support_stylesheet(settings, tmp_path, support_user):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT when it starts

    response = client.get("/static/wallets/admin.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b".wallet-badge" in b"".join(response.streaming_content)


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)


def test_pages_load_assets_only_from_this_server(support, funded_wallet):
    pages = [
        support.get("/admin/"),
        support.get(WALLETS_URL),
        support.get(f"{WALLETS_URL}{funded_wallet.pk}/change/"),
        post_step(support, "top_up", [funded_wallet]),
    ]

    for response in pages:
        urls = _asset_urls(response.content.decode())
        assert urls
        assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "/static/wallets/admin.css" in _asset_urls(pages[2].content.decode())
