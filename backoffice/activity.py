"""Writing the staff activity log (backoffice.models.StaffAction) around a staff action.

``logged`` opens the transaction the action runs in and writes the log row inside it, so an
action and its row commit together (the services' own ``atomic`` blocks nest as savepoints). A
refusal (a ServiceError) rolls the action back and is logged on its own, with its message.
"""

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import models, transaction

from backoffice.models import StaffAction
from core.exceptions import ServiceError

Kind = StaffAction.Kind
Outcome = StaffAction.Outcome


@dataclass
class Entry:
    """What the action reports back while it runs: its result, whether it only replayed, and the
    object it acted on when that is known only afterwards (a key it created)."""

    target: models.Model | None
    result: str = ""
    outcome: str = Outcome.DONE

    def row(self, **fields) -> StaffAction:
        target = self.target
        return StaffAction.objects.create(
            **fields,
            target_type=target._meta.model_name if target is not None else "",
            target_id=target.pk if target is not None else "",
        )


@contextmanager
def logged(*, staff: str, kind: str, target: models.Model | None, note: str = "") -> Iterator[Entry]:
    """Run the body as one transaction that also writes its StaffAction row; log a refusal and re-raise it."""
    entry = Entry(target=target)
    try:
        with transaction.atomic():
            yield entry
            entry.row(staff=staff, kind=kind, note=note, outcome=entry.outcome, result=entry.result)
    except ServiceError as exc:
        entry.row(staff=staff, kind=kind, note=note, outcome=Outcome.REFUSED, result=exc.message)
        raise


def cli_staff() -> str:
    """Who ran a management command: the operating-system user, as the log's staff column shows it."""
    return f"cli:{getpass.getuser()}"
