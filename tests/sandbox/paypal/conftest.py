"""PayPal simulator fixtures (defined in tests/sandbox/paypal/fixtures.py)."""

from tests.sandbox.paypal.fixtures import (  # noqa: F401
    paypal_app,
    paypal_http,
    paypal_provider,
    paypal_receiver,
    paypal_settings,
)
