"""Fee rules, settlement schedules, statements with their lines, and the refunds settlement has counted.

Every merchant-owned row carries `merchant` (sharding key, DESIGN §13) and
amounts are integer minor units plus currency. Statement lines reference
orders and refunds by id without a database foreign-key constraint: they are
written only by the set-based generation SQL from rows that exist (orders and
refunds are never deleted), and a constraint check per row would double the
cost of generating a million lines (bench W3).
"""

from django.db import models
from django.db.models import Q

from clearhouse.core.append_only import AppendOnlyModel
from clearhouse.settlement.domain import Cycle, LineKind, PaymentFeeBasis, StatementStatus, ppm_to_rate

CYCLES = [(c.value, c.value.capitalize()) for c in Cycle]
LINE_KINDS = [(k.value, k.value.replace("_", " ").capitalize()) for k in LineKind]
STATEMENT_STATUSES = [(s.value, s.value.replace("_", " ").capitalize()) for s in StatementStatus]
PAYMENT_FEE_BASES = [(b.value, b.value.capitalize()) for b in PaymentFeeBasis]
ONE_SCOPE = (Q(merchant__isnull=False, business_type__isnull=True)
             | Q(merchant__isnull=True, business_type__isnull=False))


class FeeRule(models.Model):
    """What the platform charges a merchant per settled order, for a business type or one merchant.

    A merchant's own rule wins over its business type's. Rates are stored as
    parts per million (`rate_ppm` 6000 = 0.6 %); `effective_from`/`effective_to`
    are inclusive dates, turned into instants (`starts_at`, `ends_at`: start of
    the day after `effective_to`) in the platform's time zone so the
    generation SQL compares timestamps only. Rules of one scope and currency
    never overlap.
    """

    business_type = models.ForeignKey("accounts.BusinessType", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    merchant = models.ForeignKey("accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    currency = models.CharField(max_length=3)
    rate_ppm = models.BigIntegerField(default=0, help_text="Service fee rate in parts per million (6000 = 0.6%)")
    fixed_fee_minor = models.BigIntegerField(default=0)
    minimum_fee_minor = models.BigIntegerField(null=True, blank=True)
    maximum_fee_minor = models.BigIntegerField(null=True, blank=True)
    payment_fee_basis = models.CharField(max_length=10, choices=PAYMENT_FEE_BASES, default=PaymentFeeBasis.ACTUAL)
    payment_fee_rate_ppm = models.BigIntegerField(default=0)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Inclusive; empty: open-ended")
    starts_at = models.DateTimeField(editable=False)
    ends_at = models.DateTimeField(null=True, blank=True, editable=False)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=ONE_SCOPE, name="fee_rule_one_scope"),
            models.CheckConstraint(condition=Q(rate_ppm__gte=0, rate_ppm__lte=1_000_000, fixed_fee_minor__gte=0,
                                               payment_fee_rate_ppm__gte=0, payment_fee_rate_ppm__lte=1_000_000),
                                   name="fee_rule_rates_in_range"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True)
                                   | Q(effective_to__gte=models.F("effective_from")),
                                   name="fee_rule_dates_in_order"),
        ]
        indexes = [models.Index(fields=["merchant", "currency", "starts_at"], name="fee_rule_merchant_idx"),
                   models.Index(fields=["business_type", "currency", "starts_at"], name="fee_rule_bt_idx")]
        permissions = [("manage_fee_rules", "Create and change fee rules and settlement schedules")]

    def __str__(self) -> str:
        scope = f"merchant {self.merchant_id}" if self.merchant_id else f"business type {self.business_type_id}"
        return f"{scope} {self.currency} {self.rate} from {self.effective_from}"

    @property
    def rate(self):
        return ppm_to_rate(self.rate_ppm)

    @property
    def payment_fee_rate(self):
        return ppm_to_rate(self.payment_fee_rate_ppm)


class SettlementSchedule(models.Model):
    """When a merchant's (or a business type's merchants') statements are cut, and when an order is eligible.

    An order is eligible once it has been in the settle state (settings:
    CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS, default completed) for
    `eligibility_delay_days`. A merchant's own schedule wins over its
    business type's; merchants with neither wait for a manual statement.
    """

    business_type = models.ForeignKey("accounts.BusinessType", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    merchant = models.ForeignKey("accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    cycle = models.CharField(max_length=10, choices=CYCLES)
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Monthly: 1-31")
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Weekly: 0 Monday ... 6 Sunday")
    delay_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Fixed delay: days")
    eligibility_delay_days = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=ONE_SCOPE, name="schedule_one_scope"),
            models.UniqueConstraint(fields=["merchant"], condition=Q(merchant__isnull=False),
                                    name="schedule_one_per_merchant"),
            models.UniqueConstraint(fields=["business_type"], condition=Q(business_type__isnull=False),
                                    name="schedule_one_per_business_type"),
            models.CheckConstraint(condition=Q(day_of_month__isnull=True)
                                   | Q(day_of_month__gte=1, day_of_month__lte=31),
                                   name="schedule_day_of_month_1_31"),
            models.CheckConstraint(condition=Q(weekday__isnull=True) | Q(weekday__lte=6),
                                   name="schedule_weekday_0_6"),
        ]

    def __str__(self) -> str:
        scope = f"merchant {self.merchant_id}" if self.merchant_id else f"business type {self.business_type_id}"
        return f"{scope}: {self.cycle}"


class Statement(models.Model):
    """What the platform owes one merchant in one currency for a set of orders (and what it claws back).

    Totals are the sums of the lines (set by the same statement that writes
    them, checked by `clearhouse verify`). `run_key` makes generation
    idempotent: a schedule's run for a day is `scheduled:<day>`, so running it
    twice finds the statement already there. `net_minor` includes a carried
    forward negative balance; the ledger posting on confirmation excludes it
    (it was posted when the earlier statement was confirmed).
    """

    number = models.CharField(max_length=40, unique=True)
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=10, default="scheduled")  # scheduled | manual
    run_key = models.CharField(max_length=80)
    schedule = models.ForeignKey(SettlementSchedule, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(help_text="Orders eligible before the start of the day after this one")
    cutoff_at = models.DateTimeField(help_text="When the lines were taken: refunds after it are clawed back later")
    status = models.CharField(max_length=20, choices=STATEMENT_STATUSES, default=StatementStatus.DRAFT)
    revision = models.PositiveIntegerField(default=1)
    line_count = models.PositiveIntegerField(default=0)
    order_count = models.PositiveIntegerField(default=0)
    order_amount_minor = models.BigIntegerField(default=0)
    merchant_coupon_minor = models.BigIntegerField(default=0)
    collected_minor = models.BigIntegerField(default=0)
    platform_funded_minor = models.BigIntegerField(default=0)
    service_fee_minor = models.BigIntegerField(default=0)
    payment_fee_minor = models.BigIntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)
    adjustments_minor = models.BigIntegerField(default=0)
    carried_forward_minor = models.BigIntegerField(default=0, help_text="Brought in from earlier negative statements")
    net_minor = models.BigIntegerField(default=0, help_text="What is paid out (when positive)")
    issued_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=200, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.CharField(max_length=1000, blank=True)
    payout_date = models.DateField(null=True, blank=True)
    payout_amount_minor = models.BigIntegerField(null=True, blank=True)
    payout_reference = models.CharField(max_length=100, blank=True, help_text="The bank's reference of the transfer")
    payout_voucher = models.FileField(upload_to="settlement/vouchers/%Y/%m/", blank=True)
    payout_voucher_type = models.CharField(max_length=40, blank=True)
    paid_by = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "currency", "run_key"],
                                               name="statement_once_per_run")]
        indexes = [models.Index(fields=["merchant", "-id"], name="statement_merchant_idx"),
                   models.Index(fields=["status", "-id"], name="statement_status_idx")]
        permissions = [
            ("view_statements", "See settlement statements (merchant staff: their merchant's only)"),
            ("confirm_statements", "Confirm or dispute one's merchant's statements"),
            ("prepare_statements", "Generate manual statements, issue, adjust and re-issue statements"),
            ("record_payouts", "Record a statement's payout with its voucher"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def charged_by_platform_minor(self) -> int:
        """Invoice platform -> merchant: the fees the platform charged."""
        return self.service_fee_minor + self.payment_fee_minor


class StatementLine(models.Model):
    """One settled order (or clawback, adjustment, carried-forward balance) with its amounts and frozen fee terms.

    Order lines: net = collected - service fee - payment fee - refunds
    (`domain.order_amounts`). A clawback line carries a refund that came
    after its order was settled (refunds_minor > 0, net negative). The fee
    terms used are copied here so the line reproduces after the rule changes.
    """

    # db_index off: line_statement_idx (statement, id) serves every lookup; a second index slows the million-line
    # insert of a run (bench W3) and buys nothing.
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines", db_constraint=False,
                                  db_index=False)
    merchant_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=15, choices=LINE_KINDS)
    order_id = models.BigIntegerField(null=True, blank=True)
    order_number = models.CharField(max_length=30, blank=True)
    refund_id = models.BigIntegerField(null=True, blank=True)
    carried_from_id = models.BigIntegerField(null=True, blank=True, help_text="Carry-forward: the earlier statement")
    eligible_at = models.DateTimeField(null=True, blank=True, help_text="When the order reached the settle state")
    order_amount_minor = models.BigIntegerField(default=0)
    merchant_coupon_minor = models.BigIntegerField(default=0)
    collected_minor = models.BigIntegerField(default=0)
    platform_funded_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0, help_text="What the customer paid")
    service_fee_minor = models.BigIntegerField(default=0)
    payment_fee_minor = models.BigIntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(default=0)
    fee_rule_id = models.BigIntegerField(null=True, blank=True)
    fee_rate_ppm = models.BigIntegerField(null=True, blank=True)
    fixed_fee_minor = models.BigIntegerField(null=True, blank=True)
    minimum_fee_minor = models.BigIntegerField(null=True, blank=True)
    maximum_fee_minor = models.BigIntegerField(null=True, blank=True)
    payment_fee_basis = models.CharField(max_length=10, blank=True)
    payment_fee_rate_ppm = models.BigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Each order lands in exactly one statement; each late refund is clawed back once;
            # a negative balance is carried forward once.
            models.UniqueConstraint(fields=["order_id"], condition=Q(kind="order"), name="line_order_once"),
            models.UniqueConstraint(fields=["refund_id"], condition=Q(kind="clawback"), name="line_clawback_once"),
            models.UniqueConstraint(fields=["carried_from_id"], condition=Q(kind="carry_forward"),
                                    name="line_carry_forward_once"),
        ]
        indexes = [models.Index(fields=["statement", "id"], name="line_statement_idx")]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.kind} {self.order_number or self.refund_id or ''}"


class SettledRefund(models.Model):
    """A refund settlement has counted: on its order's line (before settling) or as a clawback (after).

    Written set-based in the same run as the lines; a succeeded refund of a
    settled order that is not here is clawed back in the merchant's next
    statement. Never counted twice (unique refund).
    """

    refund_id = models.BigIntegerField(unique=True)
    order_id = models.BigIntegerField()
    merchant_id = models.BigIntegerField()
    amount_minor = models.BigIntegerField()
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    as_clawback = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["order_id"], name="settled_refund_order_idx")]

    def __str__(self) -> str:
        return f"refund {self.refund_id} in statement {self.statement_id}"


class StatementEvent(AppendOnlyModel):
    """Something that happened to a statement: generated, issued, confirmed, disputed, adjusted, re-issued, paid."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    parameters = models.JSONField(default=dict)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
