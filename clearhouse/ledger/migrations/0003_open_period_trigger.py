from django.db import migrations

# The service checks the period before posting; this trigger makes the rule
# hold for every insert, and (with period_close's table lock) closes the race
# between a posting in flight and a period being closed.
POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION clearhouse_refuse_closed_period() RETURNS trigger AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM ledger_accountingperiod
                 WHERE status = 'closed' AND NEW.effective_date BETWEEN start_date AND end_date) THEN
        RAISE EXCEPTION 'period_closed: %% falls in a closed accounting period', NEW.effective_date
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER ledger_journalentry_open_period BEFORE INSERT ON ledger_journalentry "
    "FOR EACH ROW EXECUTE FUNCTION clearhouse_refuse_closed_period()",
]
SQLITE = [
    "CREATE TRIGGER ledger_journalentry_open_period BEFORE INSERT ON ledger_journalentry "
    "WHEN EXISTS (SELECT 1 FROM ledger_accountingperiod WHERE status = 'closed' "
    "AND NEW.effective_date BETWEEN start_date AND end_date) "
    "BEGIN SELECT RAISE(ABORT, 'period_closed: the effective date falls in a closed accounting period'); END",
]


def forwards(apps, schema_editor):
    for sql in POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS ledger_journalentry_open_period ON ledger_journalentry")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS ledger_journalentry_open_period")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
