"""Append-only tables: rows are inserted, never updated or deleted.

Two guards, because either alone can be bypassed: the model layer refuses
updates and deletes (including queryset `update()`/`delete()`), and database
triggers refuse them for anyone writing SQL by hand. `clearhouse verify`
catches what slips past both (a superuser dropping the triggers).
"""

from __future__ import annotations

from django.db import migrations, models


class AppendOnlyError(Exception):
    """An attempt to change or remove a row of an append-only table."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no update.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no delete.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no update.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no update.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no delete.")


def _trigger_sql(vendor: str, table: str) -> tuple[list[str], list[str]]:
    if vendor == "sqlite":
        create = [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
        drop = [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
        return create, drop
    if vendor == "postgresql":
        create = [
            "CREATE OR REPLACE FUNCTION clearhouse_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME "
            "USING ERRCODE = 'integrity_constraint_violation'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION clearhouse_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION clearhouse_refuse_change()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
        return create, drop
    raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def protect_tables(*tables: str) -> migrations.RunPython:
    """A migration operation installing the append-only triggers on `tables`."""

    def forwards(apps, schema_editor):
        for table in tables:
            for sql in _trigger_sql(schema_editor.connection.vendor, table)[0]:
                schema_editor.execute(sql)

    def backwards(apps, schema_editor):
        for table in tables:
            for sql in _trigger_sql(schema_editor.connection.vendor, table)[1]:
                schema_editor.execute(sql)

    return migrations.RunPython(forwards, backwards)


def drop_guards_sql(vendor: str, table: str) -> list[str]:
    """SQL that removes a table's triggers (used by tests that simulate tampering)."""
    return _trigger_sql(vendor, table)[1]


def install_guards_sql(vendor: str, table: str) -> list[str]:
    return _trigger_sql(vendor, table)[0]
