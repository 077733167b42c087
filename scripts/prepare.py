"""./run's setup steps in one process, so Django starts once: migrate, collectstatic, demo data.

The demo API key and admin password go to files in the var/ directory (settings.VAR_DIR);
./run prints them once everything is up, so they are left out of this step's output.
"""

import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

SECRET_LINES = ("API key", "Admin login")


def step(title: str) -> None:
    print(f"==> {title}", flush=True)


def main() -> None:
    step("Migrating")
    call_command("migrate", interactive=False, verbosity=0)
    step("Collecting static files")
    call_command("collectstatic", interactive=False, verbosity=0)
    step("Demo tenant, API key, admin user and data")
    out = io.StringIO()
    call_command(
        "seed_demo",
        api_key_file=settings.VAR_DIR / "demo_api_key",
        admin_password_file=settings.VAR_DIR / "admin_password",
        stdout=out,
    )
    for line in out.getvalue().splitlines():
        if not line.startswith(SECRET_LINES):
            print(line)


if __name__ == "__main__":
    main()
