"""The import contracts of pyproject.toml (drawn in ARCHITECTURE.md) can fail, each of them.

./test runs lint-imports on the tree before pytest. These are the negative controls: the product
packages are copied to a temporary folder, one import against a contract is planted in the copy,
and lint-imports must report that contract broken, naming the planted import. The unchanged copy
must pass, so a report can only come from the plant.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# (contract id, file of the copy, import planted at its end, the import lint-imports must name)
PLANTS = [
    # A service reaching up into the HTTP adapter.
    ("layers", "wallets/services/credits.py", "from wallets.api import views", "wallets.services.credits -> wallets.api.views"),
    # The circle this layout broke: the write path queueing a Celery task itself.
    ("layers", "wallets/ledger/postings.py", "from wallets import tasks", "wallets.ledger.postings -> wallets.tasks"),
    ("ledger-core", "wallets/ledger/money.py", "import celery", "wallets.ledger.money -> celery"),
    ("ledger-core", "wallets/models.py", "from invoices import models", "wallets.models -> invoices.models"),
    (
        "no-wallet-code-below",
        "customers/services.py",
        "from wallets.models import Wallet",
        "customers.services -> wallets.models",
    ),
    ("no-wallet-code-below", "tenancy/models.py", "from wallets import services", "tenancy.models -> wallets.services"),
]


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess:
    options = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *options],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the product packages and the contracts, to plant imports in."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_every_contract_has_a_negative_control():
    assert {contract["id"] for contract in CONFIG["contracts"]} == {contract for contract, *_ in PLANTS}


def test_the_copy_keeps_every_contract(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONFIG['contracts'])} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("contract", "path", "statement", "reported"), PLANTS, ids=[f"{c}:{p}" for c, p, *_ in PLANTS])
def test_a_planted_import_breaks_the_contract(tree, contract, path, statement, reported):
    with open(tree / path, "a") as module:
        module.write(f"\n{statement}  # planted by tests/test_architecture.py\n")
    result = lint_imports(tree, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and reported in result.stdout, result.stdout
