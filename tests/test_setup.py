"""How the project is run and shipped: docker-compose.yml, the Dockerfile, .env.example and the
README's configuration table, and the management commands ./run relies on (create_api_key,
seed_demo).

No Docker engine runs here, so the container files are checked for what can be checked without
one: they parse, and every command, module, scheduler, file and URL they name exists here.
"""

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import click
import pytest
import yaml
from celery.app.utils import find_app
from celery.beat import Scheduler
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.urls import resolve
from gunicorn.config import Config as GunicornConfig
from kombu.utils.imports import symbol_by_name

from customers.models import Customer
from tenancy.models import ApiKey, Environment, Tenant
from tenancy.services import api_key_hash, api_key_revoke
from wallets.ledger import integrity
from wallets.models import Wallet, WalletTransaction

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = {"worker-ledger": "ledger", "worker-webhooks": "webhooks"}  # service: the queue it consumes
APP_SERVICES = ["migrate", "web", *WORKERS, "beat"]
ENV_READ = re.compile(r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|env_bool|env_int)\(?\s*["']([A-Z0-9_]+)["']""")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def dockerfile_cmd() -> list[str]:
    return json.loads([args for op, args in dockerfile_instructions() if op == "CMD"][-1])


def service_command(name: str) -> list[str]:
    command = SERVICES[name].get("command") or dockerfile_cmd()
    return shlex.split(command) if isinstance(command, str) else command


def assert_command_exists(argv: list[str]) -> None:
    """Fail unless ``argv`` names a program, module, subcommand and options that exist here."""
    program, *args = argv
    if program == "gunicorn":
        parsed = GunicornConfig().parser().parse_args(args)  # exits (SystemExit) on an unknown option
        module, _, attribute = parsed.args[0].partition(":")
        wsgi = __import__(module, fromlist=["_"])
        assert callable(getattr(wsgi, attribute or "application")), f"{parsed.args[0]} is not a WSGI app"
    elif program == "celery":
        split = next(i for i, arg in enumerate(args) if arg in celery_cli.commands)
        ctx = celery_cli.make_context("celery", args[:split])
        app = find_app(ctx.params["app"])
        assert app.main == "billing"
        # Celery's option callbacks read the app from the context object the CLI would build.
        ctx.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        subcommand, *rest = args[split:]
        sub = celery_cli.commands[subcommand].make_context(subcommand, rest, parent=ctx)
        if sub.params.get("scheduler"):
            assert issubclass(symbol_by_name(sub.params["scheduler"]), Scheduler)
    elif program == "python" and args[:1] == ["manage.py"]:
        name, *options = args[1:]
        assert name in get_commands(), f"manage.py has no command {name}"
        load_command_class(get_commands()[name], name).create_parser("manage.py", name).parse_args(options)
    elif program == "python" and args[:1] == ["-c"]:
        compile(args[1], "<healthcheck>", "exec")
        for url in re.findall(r"http://127\.0\.0\.1:8000(/[\w/.-]*)", args[1]):
            resolve(url)
    else:
        pytest.fail(f"unexpected program in {argv}")


# docker-compose.yml


def test_compose_has_the_seven_services_on_the_pinned_images():
    assert set(SERVICES) == {"postgres", "redis", *APP_SERVICES}
    assert SERVICES["postgres"]["image"] == "postgres:15"
    assert SERVICES["redis"]["image"] == "redis:7"
    for name in APP_SERVICES:
        assert SERVICES[name]["build"] == "."


def test_compose_app_services_get_their_configuration_from_the_environment():
    postgres = SERVICES["postgres"]["environment"]
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= set(env)
        assert env["DATABASE_URL"].startswith(f"postgres://{postgres['POSTGRES_USER']}:")
        assert env["DATABASE_URL"].endswith(f"@postgres:5432/{postgres['POSTGRES_DB']}")
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert ":?" in env["SECRET_KEY"], "compose must refuse to start without a SECRET_KEY"


def test_compose_starts_the_app_after_healthy_databases_and_the_migration():
    for name in ["web", *WORKERS, "beat"]:
        depends = SERVICES[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert service_command("migrate")[:3] == ["python", "manage.py", "migrate"]
    assert SERVICES["migrate"]["restart"] == "no"


def test_compose_healthchecks_exist_and_name_real_commands():
    for name in ["postgres", "redis", "web", *WORKERS]:
        assert SERVICES[name]["healthcheck"]["test"], name
    web_check = SERVICES["web"]["healthcheck"]["test"]
    assert web_check[0] == "CMD"
    assert_command_exists(web_check[1:])
    for worker in WORKERS:
        worker_check = SERVICES[worker]["healthcheck"]["test"]
        assert worker_check[0] == "CMD-SHELL"
        assert_command_exists(shlex.split(worker_check[1].replace("$$HOSTNAME", "host")))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_service_commands_exist(name):
    assert_command_exists(service_command(name))


def test_compose_runs_web_worker_and_beat_with_the_database_scheduler():
    assert service_command("web")[:2] == ["gunicorn", "billing.wsgi"]
    for worker, queue in WORKERS.items():
        command = service_command(worker)
        assert command[:4] == ["celery", "-A", "billing", "worker"]
        assert command[command.index("--queues") + 1] == queue
    beat = service_command("beat")
    assert beat[:4] == ["celery", "-A", "billing", "beat"]
    assert beat[beat.index("--scheduler") + 1] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_command_check_catches_what_does_not_exist():
    with pytest.raises(AssertionError):
        assert_command_exists(["python", "manage.py", "no_such_command"])
    with pytest.raises(ImportError):
        assert_command_exists(["gunicorn", "billing.no_such_module"])
    with pytest.raises((ImportError, AttributeError)):
        assert_command_exists(["celery", "-A", "billing", "beat", "--scheduler", "billing.celery:NoSuchScheduler"])
    with pytest.raises(click.UsageError):
        assert_command_exists(["celery", "-A", "billing", "worker", "--no-such-option"])
    with pytest.raises(SystemExit):
        assert_command_exists(["gunicorn", "billing.wsgi", "--no-such-option"])


# Dockerfile and .dockerignore


def test_dockerfile_builds_a_non_root_gunicorn_image():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert any(op == "RUN" and "useradd" in args and users[-1] in args.split() for op, args in instructions)
    assert any(op == "RUN" and "pip install -r requirements.txt" in args for op, args in instructions)
    collectstatic = [args for op, args in instructions if op == "RUN" and "collectstatic" in args]
    assert collectstatic and "SECRET_KEY=" in collectstatic[0]
    assert_command_exists(dockerfile_cmd())


def test_dockerfile_copies_only_files_that_exist():
    for op, args in dockerfile_instructions():
        if op == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    assert {".git", ".venv", "var", ".env"} <= ignored


def test_collectstatic_works_as_in_the_docker_build(tmp_path):
    """The build runs collectstatic with a throw-away key and no database or Redis configured."""
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "collectstatic-only",
        "BILLING_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_SETTINGS_MODULE": "billing.settings",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    assert (tmp_path / "static" / "admin" / "css" / "base.css.gz").exists()


# .env.example and README


def settings_env_vars() -> set[str]:
    return set(ENV_READ.findall((ROOT / "billing" / "settings.py").read_text()))


def test_every_setting_read_from_the_environment_is_documented():
    names = settings_env_vars()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BILLING_VAR_DIR"} <= names
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(n for n in names if not re.search(rf"^(# )?{n}=", example, re.MULTILINE))
    assert not undocumented, f"add to .env.example: {undocumented}"
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"add to README.md's configuration table: {missing}"


# create_api_key


def create_api_key(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_create_api_key_prints_the_key_alone_on_its_last_line():
    output = create_api_key("--tenant", "acme", "--environment", "live")
    last_line = output.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{40,}", last_line)
    key = ApiKey.objects.get(key_hash=api_key_hash(last_line))
    assert key.read_only is False
    assert str(key.environment) == "acme/live"
    assert last_line not in {key.prefix, key.key_hash}


@pytest.mark.django_db
def test_create_api_key_read_only():
    raw = create_api_key("--tenant", "acme", "--environment", "live", "--read-only").splitlines()[-1]
    assert ApiKey.objects.get(key_hash=api_key_hash(raw)).read_only is True


@pytest.mark.django_db
def test_create_api_key_reuses_the_tenant_and_environment():
    first = create_api_key("--tenant", "acme", "--environment", "live").splitlines()[-1]
    second = create_api_key("--tenant", "acme", "--environment", "live").splitlines()[-1]
    create_api_key("--tenant", "acme", "--environment", "staging")
    assert first != second
    assert Tenant.objects.filter(name="acme").count() == 1
    assert Environment.objects.filter(tenant__name="acme").count() == 2
    assert ApiKey.objects.filter(environment__tenant__name="acme", environment__name="live").count() == 2


# seed_demo


def seed_demo(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_counts() -> tuple[int, int, int]:
    return Customer.objects.count(), Wallet.objects.count(), WalletTransaction.objects.count()


@pytest.mark.django_db
def test_seed_demo_creates_customers_with_wallets_and_history():
    seed_demo()
    env = Environment.objects.get(tenant__name="demo", name="sandbox")
    ada = Customer.objects.get(environment=env, external_id="demo-customer-1")
    wallets = list(Wallet.objects.filter(customer=ada))
    assert len(wallets) == 2
    prepaid = next(w for w in wallets if w.wallet_type == Wallet.Type.PRE_PAID)
    kinds = set(prepaid.transactions.values_list("type", flat=True))
    assert kinds == {WalletTransaction.Type.CREDIT, WalletTransaction.Type.DEBIT}
    assert prepaid.transactions.count() >= 4
    assert Wallet.objects.filter(environment=env, credit_balance__lt=0).exists(), "the overdraft example"
    assert Wallet.objects.filter(environment=env, wallet_status=Wallet.Status.FROZEN).exists()
    assert integrity.check_environment(env.id) == []


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    seed_demo()
    counts = demo_counts()
    output = seed_demo()
    assert "already there" in output
    assert demo_counts() == counts


def test_seed_demo_writes_through_services_only():
    source = (ROOT / "wallets" / "management" / "commands" / "seed_demo.py").read_text()
    for direct_write in [".save(", ".objects.create(", ".update(", "bulk_create", ".delete("]:
        assert direct_write not in source, f"seed_demo must call services, not {direct_write}"


@pytest.mark.django_db
def test_seed_demo_keeps_one_demo_api_key_in_its_file(tmp_path):
    key_file = tmp_path / "demo_api_key"
    seed_demo("--api-key-file", str(key_file))
    raw = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = ApiKey.objects.get(key_hash=api_key_hash(raw))
    assert str(key.environment) == "demo/sandbox" and not key.read_only

    output = seed_demo("--api-key-file", str(key_file))
    assert raw in output
    assert key_file.read_text().strip() == raw
    assert ApiKey.objects.count() == 1

    api_key_revoke(key)
    seed_demo("--api-key-file", str(key_file))
    replacement = key_file.read_text().strip()
    assert replacement != raw
    assert ApiKey.objects.get(key_hash=api_key_hash(replacement)).is_usable()


@pytest.mark.django_db
def test_seed_demo_creates_the_admin_with_the_password_in_its_file(tmp_path):
    password_file = tmp_path / "admin_password"
    seed_demo("--admin-password-file", str(password_file))
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(password)
    assert len(password) >= 16

    assert f"admin / {password}" in seed_demo("--admin-password-file", str(password_file))
    assert password_file.read_text().strip() == password


@pytest.mark.django_db
def test_seed_demo_leaves_an_existing_admin_password_alone(tmp_path):
    get_user_model().objects.create_superuser(username="admin", email="", password="chosen-by-the-operator")
    password_file = tmp_path / "admin_password"
    password_file.write_text("stale\n")
    output = seed_demo("--admin-password-file", str(password_file))
    assert "password set elsewhere" in output
    assert not password_file.exists()
    assert get_user_model().objects.get(username="admin").check_password("chosen-by-the-operator")
