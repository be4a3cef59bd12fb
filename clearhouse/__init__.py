"""Clearhouse: order-to-cash, payments, ledger, reconciliation and settlement."""
