"""A long Schemathesis run against the served OpenAPI document: ``python -m reliability.fuzz``.

The CI test (tests/api/test_schemathesis.py) is a bounded cut of this. Here the ``st`` command line
runs every phase (examples, coverage, fuzzing, stateful) in both modes (valid and invalid data) on
a scratch database served by a real gunicorn, with an API key of a seeded tenant (a customer, a
funded wallet, an unpaid invoice). Checks, as the CI test: no 5xx; responses match the document;
data the document calls invalid is refused with a 4xx (the statuses listed in NEGATIVE_STATUSES);
plus requests without or with a wrong key are refused (``ignored_auth``).

Prints the cases run and the failures by check from Schemathesis's JSON report; exit status 1 when
any check failed.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

CHECKS = ["not_a_server_error", "response_schema_conformance", "negative_data_rejection", "ignored_auth"]
# 413/414: a body or URI over the server's limits is refused before the app sees it.
NEGATIVE_STATUSES = [400, 401, 403, 404, 405, 409, 413, 414, 415, 429]


def seed_tenant() -> tuple[str, str]:
    """A tenant with something to find behind every id: (its API key, the config pinning path ids to it).

    Path ids are pinned to real objects, so generated bodies reach the services instead of stopping
    at a 404 (the CI test covers unknown ids). Terminating gets a wallet of its own.
    """
    from customers.services import customer_create
    from tenancy.services import api_key_create, environment_get_or_create
    from wallets import services

    environment = environment_get_or_create(tenant_name="fuzz", environment_name="live")
    customer = customer_create(environment=environment, external_id="fuzz-customer", name="Fuzzed")
    wallet = services.wallet_create(customer, currency="usd")
    services.wallet_top_up(wallet, credits=Decimal("1000"), reason="FREE_CREDIT_GRANT")
    invoice_id = services.wallet_top_up(wallet, credits=Decimal("10"), reason="PURCHASED_CREDIT_INVOICED").invoice_id
    doomed = services.wallet_create(customer, currency="eur")
    pins = [
        ("^/v1/wallets/\\{id\\}/terminate$", "id", doomed.id),
        ("^/v1/wallets/\\{id\\}(/(top-up|debit|freeze|unfreeze|balance/.*|transactions))?$", "id", wallet.id),
        ("^/v1/customers/\\{id\\}", "id", customer.id),
        ("^/v1/invoices/\\{id\\}", "id", invoice_id),
        ("^/v1/customers/external/", "external_id", customer.external_id),
    ]
    config = f"[checks.negative_data_rejection]\nexpected-statuses = {NEGATIVE_STATUSES}\n" + "".join(
        f'\n[[operations]]\ninclude-path-regex = \'{regex}\'\nparameters = {{ "path.{name}" = "{value}" }}\n'
        for regex, name, value in pins
    )
    return api_key_create(environment=environment, name="fuzz").raw_key, config


def summarise(report: dict) -> dict:
    """The figures worth keeping from the JSON report of ``st run``."""
    failures = Counter(str(failure.get("check") or failure.get("title") or failure)[:80] for failure in report["failures"])
    return {
        "operations tested": f"{report['operations']['tested']}/{report['operations']['total']}",
        "cases generated": report["test_cases"]["generated"],
        "cases with failures": report["test_cases"]["with_failures"],
        "failures by check": dict(failures),
        "errors": len(report["errors"]),
        "phases": {name: phase["status"] for name, phase in report["phases"].items()},
        "seconds": round(report["running_time"], 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10, help="cases per operation and phase (default 10)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--report-dir", default="var/reliability/fuzz")
    args = parser.parse_args(argv)

    from reliability import scratch

    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    with scratch.database() as database_url, scratch.server(database_url) as base_url, tempfile.TemporaryDirectory() as tmp:
        raw_key, settings_text = seed_tenant()
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(settings_text)
        command = [
            str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run", f"{base_url}/v1/openapi.json",
            "--url", base_url, "-H", f"x-api-key: {raw_key}", "--mode", "all",
            "--phases", "examples,coverage,fuzzing,stateful", "--checks", ",".join(CHECKS),
            "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", args.workers,
            "--request-timeout", "30", "--continue-on-failure", "--no-color",
            "--report", "json,junit", "--report-dir", str(report_dir),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
    (report_dir / "st-output.txt").write_text(result.stdout + result.stderr)
    print("\n".join(result.stdout.splitlines()[-40:]))
    json_reports = sorted(report_dir.glob("*.json"))
    if json_reports:
        print(json.dumps(summarise(json.loads(json_reports[-1].read_text())), indent=1, default=str))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
