"""The double-entry ledger: accounts, immutable journal entries, postings.

Postings are signed: debit > 0, credit < 0. Per entry and per currency they
sum to zero. Entries and postings are append-only (model guard + database
triggers); a mistake is corrected by a reversing entry.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clearhouse.core.append_only import AppendOnlyModel


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


class Account(models.Model):
    """A ledger account in one currency, optionally a sub-ledger of a party.

    `code` places it in the chart (e.g. 2100 merchant payable); a merchant or
    a customer as party makes it that party's sub-ledger account, so the same
    code exists once per party and currency.
    """

    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    currency = models.CharField(max_length=3)
    merchant = models.ForeignKey(
        "accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "currency", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(merchant__isnull=True) | Q(customer__isnull=True), name="account_one_party"
            ),
            models.UniqueConstraint(
                fields=["code", "currency"],
                condition=Q(merchant__isnull=True, customer__isnull=True),
                name="account_code_unique",
            ),
            models.UniqueConstraint(
                fields=["code", "currency", "merchant"],
                condition=Q(merchant__isnull=False),
                name="account_code_merchant_unique",
            ),
            models.UniqueConstraint(
                fields=["code", "currency", "customer"],
                condition=Q(customer__isnull=False),
                name="account_code_customer_unique",
            ),
        ]
        permissions = [
            ("view_ledger", "View ledger accounts, entries and balances"),
            ("post_journal_entry", "Post journal entries"),
            ("reverse_journal_entry", "Reverse journal entries"),
            ("manage_ledger_accounts", "Create and deactivate ledger accounts"),
            ("close_accounting_period", "Open and close accounting periods"),
        ]

    def __str__(self) -> str:
        party = f" [{self.merchant or self.customer}]" if (self.merchant_id or self.customer_id) else ""
        return f"{self.code} {self.name} ({self.currency}){party}"


class JournalEntry(AppendOnlyModel):
    """One business event in the books: two or more postings that balance.

    `idempotency_key` names the source event (e.g. `payment_captured:42`),
    so posting the same event twice returns the first entry. `fingerprint`
    is the SHA-256 of the entry's content and postings: it answers "same
    content?" for a replay and lets `verify` detect edits made behind the
    triggers.
    """

    effective_date = models.DateField(db_index=True)
    posted_at = models.DateTimeField()
    memo = models.CharField(max_length=500, blank=True)
    source_type = models.CharField(max_length=50, blank=True)
    source_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    fingerprint = models.CharField(max_length=64)
    posted_by = models.CharField(max_length=200, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["source_type", "source_id"], name="entry_source_idx")]

    def __str__(self) -> str:
        return f"JE-{self.pk} {self.effective_date} {self.memo}"


class Posting(AppendOnlyModel):
    """One line of an entry: a signed amount (debit > 0, credit < 0) on an account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        indexes = [models.Index(fields=["account", "entry"], name="posting_account_entry_idx")]


class BalanceBucket(models.Model):
    """Cached running sums: one row per account, effective date and stripe.

    A posting adds its amount to one of N stripes of its account's day, so
    concurrent writers to one hot account mostly touch different rows. A
    balance as of a date is the sum of a few hundred bucket rows, never a scan
    of the postings. Derived data: `verify` rebuilds it from the postings.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    effective_date = models.DateField()
    stripe = models.PositiveSmallIntegerField()
    amount_minor = models.BigIntegerField()
    posting_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "effective_date", "stripe"], name="bucket_unique")
        ]
        # PostgreSQL: a balance is an index-only scan (amount carried in the index).
        indexes = [
            models.Index(fields=["account", "effective_date"], include=["amount_minor"], name="bucket_balance_idx")
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} {self.effective_date} stripe {self.stripe}: {self.amount_minor}"


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AccountingPeriod(models.Model):
    """A span of effective dates; once closed, nothing may be posted into it."""

    name = models.CharField(max_length=50, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lte=models.F("end_date")), name="period_dates_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start_date} to {self.end_date}, {self.status})"
