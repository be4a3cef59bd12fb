"""A worked example: one checkout at two merchants, paid two ways, refunded in part, and the books that result.

Lin checks out 2 x Longjing (Tea House, 100.00 each) and 1 x Noodles (Noodle Bar, 19.99): two orders.
She pays the tea by card (the provider keeps 0.6 %: 1.20) and the noodles by bank transfer. The Tea
House refunds 50.00 by card; the Noodle Bar refunds 5.00, which finance transfers back by hand.
"""

from clearhouse.ledger.selectors import trial_balance
from clearhouse.payments.services import (
    payment_confirm,
    payment_mark_received,
    payment_start,
    refund_mark_paid_offline,
    refund_request,
)
from tests.orders.support import buy
from tests.payments.support import books_balance, cny


def test_two_merchants_two_methods_two_refunds(reachable_customer, longjing, noodles, card, clerk, manager,
                                               merchant, other_merchant):
    group = buy(reachable_customer, (longjing, 2), (noodles, 1))
    tea_order = group.orders.get(merchant=merchant)
    noodle_order = group.orders.get(merchant=other_merchant)

    tea = payment_confirm(intent=payment_start(order=tea_order, method="card", actor="lin"), payment_token="t")
    transfer = payment_start(order=noodle_order, method="bank_transfer", actor="lin")
    payment_mark_received(intent=transfer, amount=cny("19.99"), bank_reference="ICBC-55", actor=clerk)
    refund_request(intent=tea, amount=cny("50.00"), reason="one tin dented", actor=clerk, user=clerk)
    noodle_refund = refund_request(intent=transfer, amount=cny("5.00"), reason="late", actor=clerk, user=clerk)
    refund_mark_paid_offline(refund=noodle_refund, bank_reference="OUT-1", actor=manager)

    rows = {(r.account.code, r.account.merchant.code if r.account.merchant else ""): (r.debit.minor, r.credit.minor)
            for r in trial_balance().rows}
    assert rows == {
        ("1000.main", ""): (1499, 0),            # 19.99 in, 5.00 out
        ("1100.sandbox", ""): (14880, 0),        # 200.00 captured - 1.20 fee - 50.00 refunded
        ("2100", "teahouse"): (0, 15000),        # owed to the Tea House: 200.00 - 50.00
        ("2100", "noodles"): (0, 1499),          # owed to the Noodle Bar: 19.99 - 5.00
        ("6100", ""): (120, 0),                  # the provider's fee is our expense
    }
    assert trial_balance().is_balanced and books_balance()
