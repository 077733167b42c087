"""manage.py check_ledger: audit the wallet ledger's invariants (wallets.ledger.integrity) and report drift."""

from django.core.management.base import BaseCommand, CommandError

from wallets.ledger import integrity
from wallets.models import Wallet


class Command(BaseCommand):
    help = (
        "Check every wallet's balances, lots, allocations, sequence chain and idempotency keys against its ledger. "
        "Prints one line per problem and exits 1 if anything has drifted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--environment", metavar="ENV_ID", help="Only the wallets of this environment.")
        parser.add_argument("--wallet", metavar="WALLET_ID", help="Only this wallet.")

    def handle(self, *args, environment, wallet, **options):
        wallets = Wallet.objects.all()
        if environment:
            wallets = wallets.filter(environment_id=environment)
        if wallet:
            wallets = wallets.filter(pk=wallet)
            if not wallets.exists():
                raise CommandError(f"No wallet {wallet}" + (f" in environment {environment}" if environment else ""))
        checked = wallets.count()
        problems = integrity.check_wallets(wallets)
        for problem in problems:
            self.stdout.write(str(problem))
        drifted = len({problem.wallet_id for problem in problems})
        summary = f"Checked {checked} wallet(s): {len(problems)} problem(s) in {drifted} wallet(s)."
        if problems:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
