"""`clearhouse verify`: check the books and the audit chain; non-zero exit names what is broken."""

from django.core.management.base import BaseCommand, CommandError

from clearhouse.ledger.verify import ledger_verify
from clearhouse.settlement.verify import settlement_verify


class Command(BaseCommand):
    help = "Verify the ledger (balanced entries, fingerprints, cached balances, closed periods) and the audit chain."

    def handle(self, *args, **options):
        report = ledger_verify()
        report.problems.extend(settlement_verify(checks=report.checks))  # statements vs their lines and entries
        for name, count in report.checks:
            self.stdout.write(f"  checked {name}: {count}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("verify: OK — the journal, balances and audit chain are intact"))
            return
        for problem in report.problems:
            self.stderr.write(f"  BROKEN {problem}")
        raise CommandError(f"verify: {len(report.problems)} problem(s) found")
