"""The HTTP client every provider adapter uses, and the one place tests reroute it.

`provider_client(base_url, timeout_s=...)` builds an `httpx.Client`. Tests
install a transport factory (`transport_factory(fn)`) that returns an
in-process transport for a base URL, so adapters run against the simulators
without a server; in production no factory is set and real sockets are used.

`provider_request` sends one request and turns what the network did into
`ProviderUnavailable`: a timeout (`timed_out=True`: the provider may have acted,
so query or retry with the same idempotency key) or a connection error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from clearhouse.payments.providers.base import ProviderUnavailable

TransportFactory = Callable[[str], httpx.BaseTransport | None]

_factory: TransportFactory | None = None


def set_transport_factory(factory: TransportFactory | None) -> TransportFactory | None:
    """Route provider clients through `factory(base_url)` (None: real HTTP). Returns the previous factory."""
    global _factory
    previous, _factory = _factory, factory
    return previous


@contextmanager
def transport_factory(factory: TransportFactory | None) -> Iterator[None]:
    """`with transport_factory(lambda base_url: MyTransport()): ...` — restored afterwards."""
    previous = set_transport_factory(factory)
    try:
        yield
    finally:
        set_transport_factory(previous)


def provider_client(base_url: str, *, timeout_s: float, headers: dict[str, str] | None = None) -> httpx.Client:
    """A client for one provider's API: every phase (connect, write, read, pool) limited to `timeout_s`."""
    transport = _factory(base_url) if _factory is not None else None
    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout_s), headers=headers or {},
                        transport=transport, follow_redirects=False)


def provider_request(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """Send one request; a timeout or a connection failure becomes `ProviderUnavailable`."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable("The payment provider did not answer in time.", error_code="timeout",
                                  timed_out=True) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable("The payment provider could not be reached.", error_code="connection_error",
                                  timed_out=False) from exc
