"""Orders: carts, orders and lines, coupons, the order state machine.

For now only the pure rules live here (`domain.py`: checkout pricing, coupon
validity, the transition table, order numbers); models and services follow.
"""
