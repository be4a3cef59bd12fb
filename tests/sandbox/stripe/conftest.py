"""Stripe simulator fixtures (defined in tests/sandbox/stripe/fixtures.py)."""

from tests.sandbox.stripe.fixtures import (  # noqa: F401
    stripe_account,
    stripe_endpoint,
    stripe_http,
    stripe_provider,
    stripe_receiver,
    stripe_settings,
)
