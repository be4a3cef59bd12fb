"""Statement notices: the merchant hears when a statement awaits it and when it is paid; finance hears of disputes.

One email per person per slot (an issue revision, a dispute, the payout), in the reader's language, sent
after the commit.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.notifications.models import Delivery
from clearhouse.settlement.notices import statement_issued_notify
from clearhouse.settlement.services import (
    statement_adjust,
    statement_confirm,
    statement_dispute,
    statement_issue,
    statement_record_payout,
    statement_reissue,
)
from tests.settlement.lifecycle_support import (  # noqa: F401 (fixture)
    PDF,
    media_root,
    merchant_principal,
    order_line,
    statement_make,
)

pytestmark = pytest.mark.usefixtures("media_root")
LINES = [order_line(order_id=1, collected=10000, service_fee=500, payment_fee=60)]
NET = 9440  # 100.00 - 5.00 - 0.60
TOM, MEI = "tom@teahouse.example", "mei@teahouse.example"
CLARA, MAX = "clara@platform.example", "max@platform.example"


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CLEARHOUSE_PUBLIC_URL = "https://shop.example"


@pytest.fixture
def people(merchant, other_merchant, customer_user):
    """The tea house's Tom (English) and Mei (Chinese), one without email and one inactive; the noodle bar's
    boss; a customer with an email (customer_user); finance's Clara (clerk) and Max (manager); an auditor."""
    user_create(username="tom", password="x-tom-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant, email=TOM)
    mei = user_create(username="mei", password="x-mei-pass-1", role=Role.MERCHANT_ADMIN, merchant=merchant,
                      email=MEI)
    mei.preferred_language = "zh-hans"
    mei.save(update_fields=["preferred_language"])
    user_create(username="noemail", password="x-noe-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    gone = user_create(username="gone", password="x-gone-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant,
                       email="gone@teahouse.example")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    user_create(username="boss", password="x-boss-pass-1", role=Role.MERCHANT_ADMIN, merchant=other_merchant,
                email="boss@noodles.example")
    user_create(username="clara", password="x-clara-pass-1", role=Role.FINANCE_CLERK, email=CLARA)
    user_create(username="max", password="x-max-pass-1", role=Role.FINANCE_MANAGER, email=MAX)
    user_create(username="audrey", password="x-aud-pass-1", role=Role.AUDITOR, email="audrey@platform.example")


@pytest.fixture
def tea_staff(merchant):
    return merchant_principal(merchant, "tea-admin")


def outbox() -> dict[str, list]:
    by_recipient: dict[str, list] = {}
    for message in mail.outbox:
        by_recipient.setdefault(message.to[0], []).append(message)
    return by_recipient


def issued(merchant, clerk, capture):
    statement = statement_make(merchant, number="ST-N1", lines=LINES, status="draft")
    with capture(execute=True):
        return statement_issue(statement=statement, actor=clerk)


def disputed(statement, tea_staff, capture, reason="Order 1 was refunded 10.00"):
    with capture(execute=True):
        return statement_dispute(statement=statement, reason=reason, actor=tea_staff)


def test_issuing_emails_the_merchants_active_staff_once_each_and_nobody_else(
        merchant, people, clerk, django_capture_on_commit_callbacks):
    issued(merchant, clerk, django_capture_on_commit_callbacks)
    sent = outbox()
    assert sorted(sent) == [MEI, TOM]
    assert [len(messages) for messages in sent.values()] == [1, 1]
    tom = sent[TOM][0]
    assert tom.subject == "Statement ST-N1 is ready for your confirmation"
    assert "Period: 2026-11-01 – 2026-11-07" in tom.body  # noqa: RUF001
    assert "Net: CN¥94.40" in tom.body
    assert "https://shop.example/merchant/statements/ST-N1/" in tom.body
    assert set(Delivery.objects.values_list("template", "related_type", "related_id", "status")) == {
        ("statement_issued", "statement", "ST-N1", "sent")}


def test_the_chinese_reader_gets_the_chinese_text_and_amount(merchant, people, clerk,
                                                             django_capture_on_commit_callbacks):
    issued(merchant, clerk, django_capture_on_commit_callbacks)
    mei = outbox()[MEI][0]
    assert mei.subject == "结算单 ST-N1 已出具，请确认"  # noqa: RUF001  Chinese punctuation on purpose
    assert "期间: 2026-11-01 – 2026-11-07" in mei.body  # noqa: RUF001
    assert "净额: ¥94.40" in mei.body
    assert Delivery.objects.get(recipient=MEI).language == "zh-hans"


def test_the_same_revision_is_never_notified_twice(merchant, people, clerk, django_capture_on_commit_callbacks):
    statement = issued(merchant, clerk, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        statement_issued_notify(statement=statement)  # a repeat, as a retried task would do
    assert len(mail.outbox) == 2
    assert Delivery.objects.count() == 2


def test_nothing_is_sent_when_the_issue_rolls_back(merchant, people, clerk, django_capture_on_commit_callbacks):
    statement = statement_make(merchant, number="ST-N1", lines=LINES, status="draft")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        statement_issue(statement=statement, actor=clerk)
    assert len(callbacks) == 1  # one task for all recipients, and only if the transaction commits
    assert mail.outbox == []
    assert not Delivery.objects.exists()


def test_a_dispute_tells_finance_the_reason(merchant, people, clerk, tea_staff, django_capture_on_commit_callbacks):
    statement = issued(merchant, clerk, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    disputed(statement, tea_staff, django_capture_on_commit_callbacks)
    sent = outbox()
    assert sorted(sent) == [CLARA, MAX]  # not the auditor, not the merchant
    clara = sent[CLARA][0]
    assert clara.subject == "Statement ST-N1 disputed by Tea House"
    assert "Reason: Order 1 was refunded 10.00" in clara.body
    assert "https://shop.example/finance/statements/ST-N1/" in clara.body


@pytest.mark.parametrize("answer", ["adjust", "reissue"])
def test_issuing_again_after_a_dispute_is_a_new_notice(merchant, food_fee_rule, people, clerk, tea_staff, answer,
                                                       django_capture_on_commit_callbacks):
    statement = issued(merchant, clerk, django_capture_on_commit_callbacks)
    disputed(statement, tea_staff, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        if answer == "adjust":
            statement_adjust(statement=statement, amount_minor=-1000, note="Refund of order 1", actor=clerk)
        else:
            statement_reissue(statement=statement, actor=clerk)
    sent = outbox()
    assert sorted(sent) == [MEI, TOM]
    assert sent[TOM][0].subject == "Statement ST-N1 is ready for your confirmation"
    if answer == "adjust":
        assert "Net: CN¥84.40" in sent[TOM][0].body
    assert Delivery.objects.filter(template="statement_issued").count() == 4  # two people, two revisions
    assert Delivery.objects.filter(dedupe_key__startswith="statement_issued:ST-N1:2:").count() == 2


def test_a_second_dispute_of_a_new_revision_tells_finance_again(merchant, people, clerk, tea_staff,
                                                                django_capture_on_commit_callbacks):
    statement = issued(merchant, clerk, django_capture_on_commit_callbacks)
    disputed(statement, tea_staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        statement_adjust(statement=statement, amount_minor=-1000, note="Refund of order 1", actor=clerk)
    disputed(statement, tea_staff, django_capture_on_commit_callbacks, reason="Still wrong")
    assert [m.body.count("Reason: Still wrong") for m in outbox()[CLARA]] == [0, 1]


def test_the_payout_tells_the_merchant_it_was_paid(merchant, people, manager, tea_staff,
                                                   django_capture_on_commit_callbacks):
    statement = statement_make(merchant, number="ST-N1", lines=LINES)
    statement_confirm(statement=statement, actor=tea_staff)
    with django_capture_on_commit_callbacks(execute=True):
        statement_record_payout(statement=statement, amount_minor=NET, payout_date=date(2026, 11, 20),
                                reference="ICBC-20261120-7", actor=manager,
                                voucher=SimpleUploadedFile("slip.pdf", PDF, content_type="application/pdf"))
    sent = outbox()
    assert sorted(sent) == [MEI, TOM]
    tom = sent[TOM][0]
    assert tom.subject == "Statement ST-N1 paid"
    assert "Amount: CN¥94.40" in tom.body
    assert "Payout date: 2026-11-20" in tom.body
    assert "Bank reference: ICBC-20261120-7" in tom.body
    mei = sent[MEI][0]
    assert mei.subject == "结算单 ST-N1 已付款"
    assert "银行流水号: ICBC-20261120-7" in mei.body


def test_a_batch_without_a_period_start_shows_its_end(merchant, people, clerk, django_capture_on_commit_callbacks):
    statement = statement_make(merchant, number="ST-N2", lines=LINES, status="draft")
    statement.period_start = None
    statement.save(update_fields=["period_start"])
    with django_capture_on_commit_callbacks(execute=True):
        statement_issue(statement=statement, actor=clerk)
    assert "Period: \u2013 2026-11-07" in outbox()[TOM][0].body
