from django.db import migrations

from clearhouse.core.append_only import protect_tables


class Migration(migrations.Migration):
    """The audit trail can never be updated or deleted, by anyone."""

    dependencies = [("core", "0001_initial")]
    operations = [protect_tables("core_auditevent")]
