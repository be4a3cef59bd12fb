"""Calling a provider: each try is an Attempt; transient failures are retried with backoff.

Only errors the provider marks transient (`ProviderUnavailable` without a
timeout: a 5xx, a refused connection) are retried here, inline and bounded
(PAYMENT_PROVIDER_MAX_TRIES, exponential backoff with full jitter). A
timeout is not retried inline: the provider may have done the work, so the
outcome is unknown and the janitor asks the provider later (with its own
backoff). Every retry sends the same idempotency key, so a provider that
did the work the first time answers with that same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from clearhouse.payments.domain import backoff_s
from clearhouse.payments.models import Attempt
from clearhouse.payments.providers.base import PaymentDeclined, PaymentError, ProviderUnavailable

T = TypeVar("T")

# Tests set this to a no-op to keep backoff out of wall-clock time.
sleep = time.sleep


def provider_call(*, provider: str, operation: str, request_id: str, call: Callable[[], T], intent=None,
                  refund=None, retry: bool = True) -> T:
    """Run `call` (one provider request), recording an Attempt per try; re-raise the final error."""
    tries = max(1, settings.PAYMENT_PROVIDER_MAX_TRIES) if retry else 1
    for number in range(1, tries + 1):
        started = time.monotonic()
        try:
            result = call()
        except ProviderUnavailable as exc:
            outcome = "timeout" if exc.timed_out else "unavailable"
            _record(provider, operation, request_id, number, outcome, exc.error_code, started, intent, refund)
            if exc.timed_out or number == tries:
                raise
            sleep(backoff_s(attempt=number - 1, base_s=settings.PAYMENT_PROVIDER_BACKOFF_BASE_S))
            continue
        except PaymentDeclined as exc:
            _record(provider, operation, request_id, number, "declined", exc.decline_code, started, intent, refund)
            raise
        except PaymentError as exc:
            _record(provider, operation, request_id, number, "rejected", getattr(exc, "error_code", exc.code),
                    started, intent, refund)
            raise
        _record(provider, operation, request_id, number, "succeeded", "", started, intent, refund)
        return result
    raise AssertionError("unreachable: the last try returns or raises")


def _record(provider, operation, request_id, number, outcome, error_code, started, intent, refund) -> None:
    Attempt.objects.create(
        intent=intent, refund=refund, provider=provider, operation=operation, request_id=request_id[:200],
        try_number=number, outcome=outcome, error_code=(error_code or "")[:60],
        latency_ms=int((time.monotonic() - started) * 1000),
    )
