from django.db import migrations

from clearhouse.core.append_only import protect_tables


class Migration(migrations.Migration):
    """Journal entries and postings can never be updated or deleted, by anyone."""

    dependencies = [("ledger", "0001_initial")]
    operations = [protect_tables("ledger_journalentry", "ledger_posting")]
