"""Demo settlement: fee rules, a weekly schedule, a few weeks of completed orders, and statements in each state.

Called by the demo seeding (`clearhouse.web.demo.seed_demo`) once the demo
merchants, shop, customers and coupons exist. Everything goes through the
services, as in real use:

- fee rules: food 0.6 % of collected with the provider's actual payment fee;
  apparel 2 % with a minimum of 1.00 and a payment fee of 0.6 % on what the
  customer paid; the Noodle Bar's own override at 0.4 %;
- a weekly schedule for food (Mondays, orders eligible 7 days after
  completion); Silk Road (apparel) has none, so finance cuts it manual
  statements; Paper-Cut Crafts' business type has no fee rule, so its order
  is listed as blocked;
- orders checked out, paid in cash, shipped, delivered and completed through
  the orders and payments services, then dated back (`status_changed_at`,
  the eligibility clock) over the last five weeks;
- the past Mondays' runs, a refund after settlement (a clawback in the next
  statement), and the statements taken through issued, confirmed, disputed
  and paid with a PDF transfer slip as voucher.

Running it again does nothing (the demo fee rules mark it done).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from clearhouse.accounts.models import BusinessType, Merchant, User
from clearhouse.accounts.services import merchant_create
from clearhouse.catalog.models import Category, Variant
from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money
from clearhouse.customers.models import CustomerProfile
from clearhouse.inventory.selectors import available_of
from clearhouse.orders.models import Order
from clearhouse.settlement.models import FeeRule, Statement, StatementLine
from clearhouse.settlement.services import (
    fee_rule_create,
    schedule_set,
    settlement_run,
    statement_confirm,
    statement_dispute,
    statement_generate_manual,
    statement_issue,
    statement_record_payout,
)

DEMO_NOTE = "Demo terms"
RUN_WEEKDAY = 0  # Monday
ELIGIBILITY_DELAY_DAYS = 7
# (merchant, customer, days ago completed, CNY to spend at least, options)
DEMO_ORDERS = [
    ("teahouse", "jun", 36, 120, {}),
    ("noodlebar", "mei", 35, 60, {}),
    ("silkroad", "jun", 33, 300, {}),
    ("teahouse", "jun", 31, 160, {"merchant_coupons": ["DEMOTEA10"]}),
    ("noodlebar", "jun", 29, 180, {"platform_coupon": "DEMOWELCOME20"}),
    ("teahouse", "mei", 27, 90, {}),
    ("silkroad", "mei", 25, 180, {}),
    ("noodlebar", "jun", 24, 45, {}),
    ("teahouse", "mei", 22, 200, {"points": 300}),
    ("papercut", "mei", 21, 60, {}),
    ("noodlebar", "mei", 20, 80, {}),
    ("silkroad", "jun", 18, 240, {}),
    ("teahouse", "mei", 17, 75, {}),
    ("noodlebar", "jun", 15, 55, {}),
    ("teahouse", "jun", 13, 130, {}),
    ("silkroad", "jun", 11, 150, {}),
    ("noodlebar", "mei", 10, 70, {}),
    ("teahouse", "jun", 8, 110, {}),
    ("noodlebar", "mei", 4, 40, {}),
    ("teahouse", "mei", 3, 95, {}),
]


@dataclass(frozen=True)
class DemoActors:
    admin: User
    clerk: User
    manager: User
    merchants: dict[str, User]  # merchant code -> one of its users


@transaction.atomic
def seed_demo_settlement(*, today: date | None = None) -> bool:
    """The demo's settlement data; False when it is there already or the demo merchants are missing."""
    if FeeRule.objects.filter(note__startswith=DEMO_NOTE).exists():
        return False
    merchants = {m.code: m for m in Merchant.objects.filter(code__in=["teahouse", "noodlebar", "silkroad"])}
    if len(merchants) < 3 or not User.objects.filter(username="admin").exists():
        return False
    today = today or timezone.localdate()
    actors = DemoActors(admin=User.objects.get(username="admin"), clerk=User.objects.get(username="clerk"),
                        manager=User.objects.get(username="manager"),
                        merchants={u.merchant.code: u for u in User.objects.filter(merchant__isnull=False)
                                   .select_related("merchant")})
    _fee_rules(merchants, since=today - timedelta(days=400), actor=actors.admin)
    schedule_set(cycle="weekly", business_type=merchants["teahouse"].business_type, weekday=RUN_WEEKDAY,
                 eligibility_delay_days=ELIGIBILITY_DELAY_DAYS, actor=actors.admin)
    merchants["papercut"] = _crafts_merchant(actor=actors.admin)
    orders = _completed_orders(merchants, today, actor=actors.clerk)
    _withdraw_crafts(merchants["papercut"])
    _scheduled_runs(today, orders, actors)
    _manual_statement(merchants["silkroad"], today, actors)
    _statement_states(actors)
    return True


def _fee_rules(merchants: dict[str, Merchant], *, since: date, actor) -> None:
    food, apparel = merchants["teahouse"].business_type, merchants["silkroad"].business_type
    fee_rule_create(business_type=food, currency="CNY", rate="0.006", payment_fee_basis="actual",
                    effective_from=since, note=f"{DEMO_NOTE}: food and drink", actor=actor)
    fee_rule_create(business_type=apparel, currency="CNY", rate="0.02", minimum_fee_minor=100,
                    payment_fee_basis="rate", payment_fee_rate="0.006", effective_from=since,
                    note=f"{DEMO_NOTE}: apparel", actor=actor)
    fee_rule_create(merchant=merchants["noodlebar"], currency="CNY", rate="0.004", payment_fee_basis="actual",
                    effective_from=since, note=f"{DEMO_NOTE}: Noodle Bar's negotiated rate", actor=actor)


def _crafts_merchant(*, actor) -> Merchant:
    """A merchant whose business type has a schedule but no fee rule: its orders are blocked until one is
    added (the admin forgot)."""
    from clearhouse.catalog import services as catalog
    from clearhouse.inventory.services import stock_receive

    crafts = BusinessType.objects.get_or_create(code="crafts", defaults={"name": "Crafts"})[0]
    merchant = Merchant.objects.filter(code="papercut").first() or merchant_create(
        code="papercut", name="Paper-Cut Crafts 剪纸坊", business_type=crafts)
    category = Category.objects.filter(slug="crafts").first() or catalog.category_create(
        name="Crafts", slug="crafts", name_zh_hans="手工艺", position=90)
    product = catalog.product_create(merchant=merchant, category=category, name="Paper-cut window flowers",
                                     name_zh_hans="剪纸窗花", description="Red paper-cut window flowers, set of 6.")
    variant = catalog.variant_create(product=product, sku="PAPERCUT-1", price=Money(3800, "CNY"),
                                     specs={"set": "6 pieces"})
    stock_receive(variant_id=variant.pk, quantity=10, note="demo")
    catalog.product_publish(product=product)
    schedule_set(cycle="weekly", business_type=crafts, weekday=RUN_WEEKDAY,
                 eligibility_delay_days=ELIGIBILITY_DELAY_DAYS, actor=actor)
    return merchant


def _withdraw_crafts(merchant: Merchant) -> None:
    """The shop shows the three demo merchants' goods: the crafts product, once sold, is withdrawn."""
    from clearhouse.catalog import services as catalog
    from clearhouse.catalog.models import Product

    for product in Product.objects.filter(merchant=merchant, status="published"):
        catalog.product_unpublish(product=product)


def _variant_for(merchant: Merchant, spend_minor: int) -> tuple[Variant, int]:
    """The merchant's first sellable variant with enough stock for about `spend_minor`, and the quantity."""
    variants = list(Variant.objects.filter(merchant=merchant, is_active=True, product__status="published")
                    .order_by("id"))
    stock = available_of(variant_ids=[v.pk for v in variants])
    for variant in variants:
        quantity = max(1, math.ceil(spend_minor / max(variant.price_minor, 1)))
        if stock.get(variant.pk, 0) >= quantity + 1:
            return variant, quantity
    raise LookupError(f"no demo stock for {merchant.code}")


def _completed_orders(merchants: dict[str, Merchant], today: date, *, actor) -> dict[str, list[Order]]:
    """Each demo order through checkout, cash payment, shipping, delivery and completion, then dated back."""
    from clearhouse.orders.services import ShippingAddress, cart_clear, cart_line_add, checkout_submit

    profiles = {p.user.username: p for p in CustomerProfile.objects.select_related("user")
                .filter(user__username__in={c for _, c, *_ in DEMO_ORDERS})}
    made: dict[str, list[Order]] = {}
    for code, username, days_ago, spend, options in DEMO_ORDERS:
        customer = profiles[username]
        address = customer.addresses.order_by("-is_default", "id").first()
        variant, quantity = _variant_for(merchants[code], spend * 100)
        cart_clear(customer=customer)
        cart_line_add(customer=customer, variant_id=variant.pk, quantity=quantity)
        try:
            group = checkout_submit(customer=customer, address=ShippingAddress.of(address), **options)
        except DomainError:  # a coupon or points the demo customer can no longer use: buy without them
            group = checkout_submit(customer=customer, address=ShippingAddress.of(address))
        order = group.orders.all()[0]
        completed_at = datetime.combine(today - timedelta(days=days_ago), time(15, 30),
                                        tzinfo=timezone.get_current_timezone())
        made.setdefault(code, []).append(_fulfil(order, completed_at, actor=actor))
    return made


def _fulfil(order: Order, completed_at: datetime, *, actor) -> Order:
    from clearhouse.orders.services import order_complete, order_deliver, order_ship
    from clearhouse.payments.services import payment_cash_record

    payment_cash_record(order=order, amount=Money(order.total_minor, order.currency),
                        receipt_number=f"DEMO-{order.number}", actor=actor)
    order = Order.objects.get(pk=order.pk)
    order_ship(order=order, carrier="SF Express", tracking_number=f"SF{order.pk:010d}", actor=actor)
    order_deliver(order=order, signed_by=order.ship_recipient or "customer", actor=actor)
    order_complete(order=order, actor=actor)
    # The eligibility clock: this demo order reached "completed" weeks ago.
    Order.objects.filter(pk=order.pk).update(status_changed_at=completed_at)
    return Order.objects.get(pk=order.pk)


def _run_days(today: date) -> list[date]:
    """The past five weeks' run days (Mondays), oldest first; today's is left to the scheduler."""
    return [d for d in (today - timedelta(days=n) for n in range(35, 0, -1)) if d.weekday() == RUN_WEEKDAY]


def _scheduled_runs(today: date, orders: dict[str, list[Order]], actors: DemoActors) -> None:
    """Each past Monday's run; once the Tea House's first order is settled, part of it is refunded: the
    next statement claws it back."""
    first = orders["teahouse"][0]
    refunded = False
    for day in _run_days(today):
        settlement_run(day=day, actor="system:settlement_scheduler")
        if not refunded and StatementLine.objects.filter(order_id=first.pk, kind="order").exists():
            _refund_after_settlement(first, actors.clerk)
            refunded = True


def _refund_after_settlement(order: Order, actor) -> None:
    from clearhouse.payments.models import PaymentIntent
    from clearhouse.payments.services import refund_mark_paid_offline, refund_request

    intent = PaymentIntent.objects.get(order=order, status="captured")
    refund = refund_request(intent=intent, amount=Money(2000, order.currency), reason="One tin arrived dented",
                            actor=actor, needs_approval=False)
    refund_mark_paid_offline(refund=refund, bank_reference=f"DEMO-RF-{order.pk}", actor=actor)


def _manual_statement(silkroad: Merchant, today: date, actors: DemoActors) -> None:
    """Silk Road has no schedule: finance cuts it a statement of its older orders by hand, and issues it; the
    newer ones wait on the finance pages' eligible orders."""
    try:
        made = statement_generate_manual(merchant=silkroad, completed_to=today - timedelta(days=14),
                                         actor=actors.clerk, run_key="demo")
    except DomainError:
        return
    for statement in made:
        statement_issue(statement=statement, actor=actors.clerk)


def _statement_states(actors: DemoActors) -> None:
    """Older statements further along: the oldest paid, the next confirmed (the Noodle Bar disputes its
    second), the Tea House's newest issued and the Noodle Bar's newest still a draft for finance to issue."""
    for code in ("teahouse", "noodlebar"):
        merchant_user = actors.merchants.get(code)
        statements = list(Statement.objects.filter(merchant__code=code, kind="scheduled").order_by("period_end"))
        for statement in statements if code == "teahouse" else statements[:-1]:
            statement_issue(statement=statement, actor=actors.clerk)
        for position, statement in enumerate(statements[:-1]):
            if code == "noodlebar" and position == 1:
                statement_dispute(statement=statement, reason="One of these orders was partly refunded to the "
                                  "customer in cash at our counter; please take it off.", actor=merchant_user)
                continue
            confirmed = statement_confirm(statement=statement, actor=merchant_user)
            if position == 0 and confirmed.status == "confirmed":
                _pay(confirmed, actors.manager, paid_on=confirmed.period_end + timedelta(days=9))


def _pay(statement: Statement, manager: User, *, paid_on: date) -> None:
    reference = f"BOC{paid_on:%Y%m%d}{statement.pk:05d}"
    slip = transfer_slip_pdf(statement=statement, reference=reference, paid_on=paid_on)
    statement_record_payout(statement=statement, amount_minor=statement.net_minor, payout_date=paid_on,
                            reference=reference, voucher=ContentFile(slip, name="transfer-slip.pdf"), actor=manager)


def transfer_slip_pdf(*, statement: Statement, reference: str, paid_on: date) -> bytes:
    """A bank's transfer confirmation as the payout voucher (the demo's stand-in for a scanned slip)."""
    from weasyprint import HTML

    amount = Money(statement.net_minor, statement.currency).format("en")
    html = (
        "<html><body style='font-family: \"Noto Sans CJK SC\", sans-serif; margin: 2cm'>"
        "<h2>Demo Bank Shanghai Branch — transfer confirmation</h2>"
        f"<p>Value date: {paid_on.isoformat()}<br>Bank reference: {reference}</p>"
        f"<p>Beneficiary: {statement.merchant.name}<br>Amount: {amount}</p>"
        "<p>Remittance information: settlement statement"
        f" <span style='white-space: nowrap'>{statement.number}</span></p>"
        "<p style='color: #888'>Clearhouse demo voucher</p></body></html>"
    )
    return HTML(string=html).write_pdf()
