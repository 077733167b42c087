"""No one let in (reliability.md §3.5): admin lock-out, deploy settings, headers, key storage, secrets.

Each check has its negative control: the lock-out test shows Django's plain ModelBackend lets the
sixth guess in; the deploy check fails with DEBUG on; the key scan finds a key planted in a row;
the secret scan finds planted secrets.
"""

import hashlib
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from tenancy.models import ApiKey
from tenancy.services import api_key_create

ROOT = Path(settings.BASE_DIR)
PASSWORD = "correct-horse-battery"


# --- admin login lock-out --------------------------------------------------------------------------


@pytest.fixture
def admin_user(db):
    # A fresh name per test: the counters live in the shared Redis, keyed by username and address.
    return User.objects.create_superuser(f"admin-{uuid.uuid4().hex[:8]}", password=PASSWORD)


def log_in(username: str, password: str, address: str = "10.0.0.1") -> bool:
    client = Client(REMOTE_ADDR=address)
    client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_admin_login_locks_a_username_and_address_out_after_five_failures(admin_user, settings):
    settings.ADMIN_LOGIN_LOCKOUT_SECONDS = 2
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        assert not log_in(admin_user.username, "wrong")
    assert not log_in(admin_user.username, PASSWORD), "the right password is refused while locked out"
    assert log_in(admin_user.username, PASSWORD, address="10.0.0.2"), "another address is not locked out"
    time.sleep(settings.ADMIN_LOGIN_LOCKOUT_SECONDS + 0.5)
    assert log_in(admin_user.username, PASSWORD), "the lock-out ends"


@pytest.mark.django_db
def test_a_success_clears_the_failure_count(admin_user, settings):
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES - 1):
        assert not log_in(admin_user.username, "wrong")
    assert log_in(admin_user.username, PASSWORD)
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES - 1):
        assert not log_in(admin_user.username, "wrong")
    assert log_in(admin_user.username, PASSWORD)


@pytest.mark.django_db
def test_negative_control_without_the_throttle_the_sixth_guess_gets_in(admin_user, settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        assert not log_in(admin_user.username, "wrong")
    assert log_in(admin_user.username, PASSWORD)


# --- API key rotation, revocation, listing ------------------------------------------------------------


def run_command(*args) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_rotate_issues_a_working_key_and_refuses_the_old_one_at_once(api_key, customer):
    old = APIClient(HTTP_X_API_KEY=api_key.raw_key)
    assert old.get("/v1/customers").status_code == 200

    out, _ = run_command("rotate_api_key", api_key.api_key.prefix)

    new_raw = out.strip().splitlines()[-1]
    assert new_raw.startswith("sk_") and new_raw != api_key.raw_key
    assert old.get("/v1/customers").status_code == 401
    new = APIClient(HTTP_X_API_KEY=new_raw)
    assert new.get("/v1/customers").json()["items"][0]["id"] == customer.id, "same environment"


@pytest.mark.django_db
def test_revoke_refuses_the_key_from_its_next_request(api_key):
    client = APIClient(HTTP_X_API_KEY=api_key.raw_key)
    assert client.get("/v1/customers").status_code == 200

    out, _ = run_command("revoke_api_key", api_key.api_key.id)

    assert "Revoked" in out
    assert client.get("/v1/customers").status_code == 401
    assert "already revoked" in run_command("revoke_api_key", api_key.api_key.id)[0]


@pytest.mark.django_db
def test_list_shows_prefixes_and_states_never_secrets(api_key, environment):
    revoked = api_key_create(environment=environment, name="old")
    run_command("revoke_api_key", revoked.api_key.id)

    out, _ = run_command("list_api_keys", "--tenant", environment.tenant.name)

    assert api_key.api_key.prefix in out and "active" in out and "revoked" in out
    assert api_key.raw_key not in out and revoked.raw_key not in out
    assert revoked.api_key.id not in run_command("list_api_keys", "--active")[0]


@pytest.mark.django_db
def test_unknown_and_ambiguous_keys_are_refused(api_key):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No API key"):
        run_command("revoke_api_key", "key_nope")
    twin = api_key_create(environment=api_key.api_key.environment, name="twin").api_key
    ApiKey.objects.filter(pk=twin.pk).update(prefix=api_key.api_key.prefix)  # 1 in 2^48 by chance; forced here
    with pytest.raises(CommandError, match="share the prefix"):
        run_command("revoke_api_key", api_key.api_key.prefix)


# --- keys only as hashes ------------------------------------------------------------------------------


def rows_containing(needle: str) -> list[str]:
    """Every table of the database whose rows contain ``needle`` in any column (as text)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE strpos(t::text, %s) > 0', [needle])
            if cursor.fetchone()[0]:
                found.append(table)
    return found


@pytest.mark.django_db
def test_no_plaintext_key_in_the_database_or_the_logs(environment, customer, caplog):
    caplog.set_level(logging.DEBUG)
    issued = api_key_create(environment=environment, name="scan")
    secret = issued.raw_key[len(issued.api_key.prefix) :]  # the part never shown again
    client = APIClient(HTTP_X_API_KEY=issued.raw_key)
    assert client.get("/v1/customers").status_code == 200
    assert client.post("/v1/customers", {"external_id": 1}, format="json").status_code == 400
    run_command("revoke_api_key", issued.api_key.id)
    assert client.get("/v1/customers").status_code == 401

    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert stored.key_hash == hashlib.sha256(issued.raw_key.encode()).hexdigest()
    assert rows_containing(secret) == []
    assert secret not in caplog.text
    assert issued.raw_key not in caplog.text


@pytest.mark.django_db
def test_negative_control_the_scan_finds_a_planted_key(environment, customer):
    issued = api_key_create(environment=environment, name="planted")
    customer.name = f"note: {issued.raw_key}"
    customer.save(update_fields=["name"])

    assert rows_containing(issued.raw_key[len(issued.api_key.prefix) :]) == ["customers_customer"]


COMPARE_ON_SECRET = re.compile(
    r"\b\w*(hash|digest|signature|secret|token)\w*\s*(==|!=)|(==|!=)\s*\w*(hash|digest|signature|secret)\w*\b"
)


def secret_comparisons(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if COMPARE_ON_SECRET.search(line) and not line.strip().startswith("#")]


def test_secrets_are_compared_in_constant_time_only():
    app_code = [
        path for path in ROOT.glob("*/**/*.py")
        if path.parts[len(ROOT.parts)] not in {"tests", ".venv", "var", "reliability", "benchmarks"}
        and "migrations" not in path.parts
    ]  # fmt: skip
    found = {str(path.relative_to(ROOT)): secret_comparisons(path.read_text()) for path in app_code}
    assert {path: lines for path, lines in found.items() if lines} == {}
    assert secret_comparisons("if api_key.key_hash == digest:") == ["if api_key.key_hash == digest:"]  # the check can fail


# --- no secret in the repository ---------------------------------------------------------------------

SECRET_PATTERNS = {
    "API key": r"\bsk_[A-Za-z0-9_-]{40,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "AWS access key": r"AKIA[0-9A-Z]{16}",
    "GitHub token": r"gh[pousr]_[A-Za-z0-9]{30,}",
    "Slack token": r"xox[baprs]-[A-Za-z0-9-]{10,}",
    "Django SECRET_KEY literal": r"SECRET_KEY\s*=\s*['\"][^'\"\s]{20,}['\"]",
    "password in a URL": r"[a-z]+://[^/\s:@'\"]+:[^/\s@'\"{}$]{6,}@",
}
# Values that look like secrets on purpose: the test settings' key, documentation placeholders,
# and the throw-away database password .ci/run gives the CI machine's own PostgreSQL.
ALLOWED = ("test-only-secret-key", "USER:PASSWORD@", "user:pass@", "postgres://billing:billing@")


def find_secrets(text: str) -> list[str]:
    return [
        f"{label}: {match.group(0)[:24]}…"
        for label, pattern in SECRET_PATTERNS.items()
        for match in re.finditer(pattern, text)
        if not any(allowed in match.group(0) for allowed in ALLOWED)
    ]


def test_no_secret_is_committed():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    found = {}
    for name in filter(None, files):
        path = ROOT / name.decode()
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        if hits := find_secrets(text):
            found[name.decode()] = hits
    assert len(files) > 50
    assert found == {}


def test_negative_control_the_secret_scan_finds_planted_secrets():
    planted = "\n".join([
        "key = 'sk_" + "Ab3" * 15 + "'",
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "SECRET_KEY = '" + "x9" * 15 + "'",
        "DATABASE_URL=postgres://app:" + "hunter22" + "@db/billing",
    ])  # fmt: skip
    assert len(find_secrets(planted)) == 5


# --- deploy settings and headers ------------------------------------------------------------------------


def production_env(**overrides) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing.settings",
        "SECRET_KEY": "p" + hashlib.sha256(b"not a real key, generated for the check").hexdigest(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "wallets.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "SECURE_COOKIES": "1",
        "BEHIND_TLS_PROXY": "1",
    }
    env.update(overrides)
    return env


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_production_settings_pass_check_deploy():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_negative_control_check_deploy_fails_with_debug_on_and_no_hsts():
    result = check_deploy(production_env(DEBUG="1", SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W018" in result.stderr and "security.W004" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/docs", "/redoc", "/v1/openapi.json", "/v1/customers", "/healthz"])
def test_security_headers_on_every_kind_of_page(path, api_key):
    response = Client().get(path, HTTP_X_API_KEY=api_key.raw_key)

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], "no inline scripts"


# --- the CSP does not break the pages it protects ----------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_admin_and_docs_pages_run_under_the_csp_without_a_violation(live_server, monkeypatch, wallet, credit):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between browser steps, as tests/admin do
    User.objects.create_superuser("csp-admin", password=PASSWORD)
    credit(10)
    violations, loaded = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "csp-admin")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        for path, ready in [
            ("/admin/", "#content"),
            ("/admin/wallets/wallet/", "#result_list"),
            (f"/admin/wallets/wallet/{wallet.pk}/change/", "#content"),
            ("/docs", ".swagger-ui .information-container"),
            ("/redoc", "[role=search], .api-content"),
        ]:
            page.goto(f"{live_server.url}{path}")
            page.locator(ready).first.wait_for(timeout=20_000)
            loaded[path] = page.title()
        browser.close()
    connections.close_all()
    # ReDoc's footer logo comes from cdn.redoc.ly: the policy blocks it, which keeps the docs free
    # of third-party requests; the page renders without it. Anything else blocked is a breakage.
    unexpected = [text for text in violations if not ("'img-src" in text.replace('"', "'") and "https://cdn.redoc.ly/" in text)]
    assert unexpected == []
    assert len(loaded) == 5
