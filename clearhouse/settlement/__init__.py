"""Merchant settlement: fee rules, schedules, statements merchants confirm, payouts (DESIGN §6)."""
