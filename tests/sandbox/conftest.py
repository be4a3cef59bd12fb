"""Sandbox fixtures (defined in tests/sandbox/fixtures.py): sandbox_settings, webhook_receiver,
sandbox_webhooks_in_process, sandbox_http (raw API client) and sandbox_provider (Clearhouse's adapter)."""

from tests.sandbox.fixtures import (  # noqa: F401
    sandbox_http,
    sandbox_provider,
    sandbox_settings,
    sandbox_webhooks_in_process,
    webhook_receiver,
)
