"""Core records shared by every context: the audit chain and idempotency keys."""

from django.db import models

from clearhouse.core.append_only import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """One row of the tamper-evident audit trail.

    Rows form a hash chain: `hash = sha256(prev_hash + canonical(row))`, so
    editing, removing or reordering any row breaks every hash after it, and
    `clearhouse verify` names the first broken row.
    """

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"


class IdempotencyRecord(models.Model):
    """A mutating API request remembered under its Idempotency-Key.

    Written in the same transaction as the request's effect, so a request
    either happened and is remembered, or neither. A replay returns the stored
    response; the same key with a different request fingerprint is refused.
    """

    scope = models.CharField(max_length=120)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} {self.method} {self.path}"


class ScheduledRun(models.Model):
    """A periodic job enqueued for one period; the unique (job, period_key) makes it once per period.

    `period_key` is floor(epoch seconds / the job's interval). Schedulers on
    several machines, or one run twice, race to insert the row; only the
    inserter enqueues the task, in the same transaction as the insert.
    """

    job = models.CharField(max_length=100)
    period_key = models.BigIntegerField()
    enqueued_at = models.DateTimeField()
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period_key"], name="scheduled_run_job_period_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job} #{self.period_key} at {self.enqueued_at:%Y-%m-%d %H:%M:%S}"
