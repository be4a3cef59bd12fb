"""Who hears about a statement's moves, and what they are told (email, after the commit).

    issued (also again after an adjustment or a re-issue)  -> the merchant's staff: ready for confirmation
    disputed                                               -> finance (clerks and managers): the reason
    paid                                                   -> the merchant's staff: amount, date, bank reference

The services call one function here after each move, inside their
transaction; `notify_many_after_commit` sends nothing unless that transaction
commits. Each message is rendered in its recipient's language, amounts
formatted for it. Dedupe keys name one slot per person: a statement's issue
revision ("statement_issued:<number>:<revision>:<user>"), a dispute of a
revision, the payout; so a retried task or a repeated call never sends the
same slot twice, while a re-issue (a new revision) is a new message.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation

from clearhouse.accounts.roles import Role
from clearhouse.core.money import Money
from clearhouse.notifications.services import notify_many_after_commit
from clearhouse.settlement.models import Statement

FINANCE_ROLES = (Role.FINANCE_CLERK, Role.FINANCE_MANAGER)


def _merchant_staff(statement: Statement) -> QuerySet:
    """The merchant's active people with an email address (customers have no merchant)."""
    return (get_user_model().objects.filter(merchant_id=statement.merchant_id, is_active=True)
            .exclude(email="").order_by("pk"))


def _finance_staff() -> QuerySet:
    """Active holders of a finance role with an email address (platform people: no merchant)."""
    return (get_user_model().objects.filter(groups__name__in=[r.value for r in FINANCE_ROLES], is_active=True,
                                            merchant__isnull=True)
            .exclude(email="").distinct().order_by("pk"))


def _language(user) -> str:
    """The user's language as a supported code ("zh-hans"), else the site's default."""
    try:
        return translation.get_supported_language_variant((user.preferred_language or "").lower())
    except LookupError:
        return settings.LANGUAGE_CODE


def _money(minor: int, currency: str, language: str) -> str:
    return Money(minor, currency).format(translation.to_locale(language))


def _facts(statement: Statement) -> dict:
    """What every message about the statement says, the same in every language (JSON: task arguments)."""
    return {"number": statement.number, "merchant_name": statement.merchant.name,
            "period": _period(statement), "revision": statement.revision}


def _period(statement: Statement) -> str:
    """The period as the exports show it: start \u2013 end, or just \u2013 end (a manual batch may have no start)."""
    end = statement.period_end.isoformat()
    return f"{statement.period_start.isoformat()} \u2013 {end}" if statement.period_start else f"\u2013 {end}"


def _messages(statement: Statement, users: QuerySet, *, template: str, key: str, url: str, **context) -> list[dict]:
    facts = _facts(statement)
    messages = []
    for user in users:
        language = _language(user)
        messages.append({
            "template": template, "channel": "email", "recipient": user.email, "language": language,
            "dedupe_key": f"{key}:{user.pk}", "related": ("statement", statement.number),
            "context": {**facts, **context, "url": url,
                        "net": _money(statement.net_minor, statement.currency, language)}})
    return messages


def _send(messages: list[dict]) -> None:
    if messages:  # nobody to tell: enqueue nothing
        notify_many_after_commit(messages=messages)


def statement_issued_notify(*, statement: Statement) -> None:
    """Tell the merchant's staff a statement (revision) awaits their confirmation: once per revision and person."""
    url = settings.CLEARHOUSE_PUBLIC_URL + reverse("web:merchant_statement", kwargs={"number": statement.number})
    _send(_messages(statement, _merchant_staff(statement), template="statement_issued", url=url,
                    key=f"statement_issued:{statement.number}:{statement.revision}"))


def statement_disputed_notify(*, statement: Statement) -> None:
    """Tell finance the merchant disputed a statement, and why: once per revision and person."""
    url = settings.CLEARHOUSE_PUBLIC_URL + reverse("web:finance_statement", kwargs={"number": statement.number})
    _send(_messages(statement, _finance_staff(), template="statement_disputed", url=url,
                    key=f"statement_disputed:{statement.number}:{statement.revision}",
                    reason=statement.dispute_reason))


def statement_paid_notify(*, statement: Statement) -> None:
    """Tell the merchant's staff the payout of a statement was made: amount, date and bank reference."""
    url = settings.CLEARHOUSE_PUBLIC_URL + reverse("web:merchant_statement", kwargs={"number": statement.number})
    messages = _messages(statement, _merchant_staff(statement), template="statement_paid", url=url,
                         key=f"statement_paid:{statement.number}",
                         payout_date=statement.payout_date.isoformat(), reference=statement.payout_reference)
    for message in messages:
        message["context"]["amount"] = _money(statement.payout_amount_minor, statement.currency, message["language"])
    _send(messages)
