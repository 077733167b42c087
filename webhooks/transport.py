"""Sending one webhook request: no redirects, a short timeout, and no private targets by default.

Private, loopback and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS is on,
so a tenant cannot point an endpoint at our own network (SSRF).
"""

import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""
    response_excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is answered as the 3xx it is: not a success


_opener = urllib.request.build_opener(_NoRedirects)


def target_refusal(url: str) -> str:
    """Why ``url`` may not be called, or "" when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http(s) URLs with a host can receive webhooks"
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except socket.gaierror as exc:
        return f"cannot resolve {parts.hostname}: {exc}"
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return f"{parts.hostname} resolves to a private address ({ip})"
    return ""


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()
    refusal = target_refusal(url)
    if refusal:
        return Outcome(status_code=None, duration_ms=0, error=refusal)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"content-type": "application/json", "user-agent": "wallet-ledger-webhooks/1", **headers},
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            excerpt = response.read(1000).decode("utf-8", "replace")
            return Outcome(response.status, _elapsed(started), response_excerpt=excerpt)
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(1000).decode("utf-8", "replace") if exc.fp else ""
        return Outcome(exc.code, _elapsed(started), error=f"HTTP {exc.code}", response_excerpt=excerpt)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(None, _elapsed(started), error=str(getattr(exc, "reason", exc))[:500])


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
