"""Writes for customers, one module per concern; import them from here.

    profiles  customer_profile_ensure/update, address_*, customer_tags_set
    spend     customer_spend_record, customer_level_recalculate(_all)
    points    points_earn, points_redeem, points_restore, points_expire, points_adjust
    feedback  feedback_ticket_open/reply/close/transition
"""

from clearhouse.customers.services.feedback import (
    feedback_ticket_close,
    feedback_ticket_open,
    feedback_ticket_reply,
    feedback_ticket_transition,
)
from clearhouse.customers.services.points import (
    points_adjust,
    points_earn,
    points_expire,
    points_redeem,
    points_restore,
)
from clearhouse.customers.services.profiles import (
    MAX_ADDRESSES,
    address_create,
    address_delete,
    address_set_default,
    address_update,
    customer_profile_ensure,
    customer_profile_update,
    customer_tags_set,
)
from clearhouse.customers.services.spend import (
    customer_level_recalculate,
    customer_levels_recalculate_all,
    customer_spend_record,
)

__all__ = [
    "MAX_ADDRESSES",
    "address_create",
    "address_delete",
    "address_set_default",
    "address_update",
    "customer_level_recalculate",
    "customer_levels_recalculate_all",
    "customer_profile_ensure",
    "customer_profile_update",
    "customer_spend_record",
    "customer_tags_set",
    "feedback_ticket_close",
    "feedback_ticket_open",
    "feedback_ticket_reply",
    "feedback_ticket_transition",
    "points_adjust",
    "points_earn",
    "points_expire",
    "points_redeem",
    "points_restore",
]
