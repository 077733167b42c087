"""The after-test ledger check of tests/conftest.py has teeth: a test that leaves drift fails.

The hook is driven by hand around a ledger this test corrupts (the test itself asks for
``ledger_may_drift``, so the real hook lets it pass afterwards).
"""

from types import SimpleNamespace

import pytest

from tests import conftest
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def run_hook(fixturenames: set):
    item = SimpleNamespace(fixturenames=fixturenames, get_closest_marker=lambda name: None)
    hook = conftest.pytest_runtest_call(item)
    next(hook)  # the test body would run here
    with pytest.raises(StopIteration):
        hook.send(None)


def test_negative_control_a_test_leaving_drift_fails(wallet, credit, ledger_may_drift):
    credit(5)
    Wallet.objects.filter(pk=wallet.pk).update(credit_balance=4, balance=4)  # past the ledger

    with pytest.raises(AssertionError, match=r"the ledger drifted:\n.*\[I1\] credit_balance 4 but the ledger sums to 5"):
        run_hook({"db"})
    run_hook({"db", "ledger_may_drift"})  # the opt-out
    run_hook(set())  # a test without the database is not checked


def test_a_clean_ledger_passes(wallet, credit):
    credit(5)
    run_hook({"db"})
