"""Wire the demo to the Stripe simulator: a test-mode account with generated keys, its webhook endpoint
pointing at Clearhouse, and Clearhouse's platform `ProviderAccount` for Stripe holding those keys."""

from __future__ import annotations

import json

from django.db import transaction

from clearhouse.payments.models import ProviderAccount
from clearhouse.payments.providers.stripe import WEBHOOK_EVENTS
from clearhouse.sandbox.stripe.models import WebhookEndpoint
from clearhouse.sandbox.stripe.selectors import account_for_key
from clearhouse.sandbox.stripe.services import account_create, endpoint_create

DEMO_ACCOUNT_NAME = "Clearhouse demo (test mode)"


@transaction.atomic
def demo_provision(*, public_url: str) -> ProviderAccount:
    """Idempotent: the simulator's account and endpoint, and the platform's Stripe ProviderAccount.

    Running it again keeps the keys, re-points the endpoint (a new public_url) and re-enables the account."""
    public_url = public_url.rstrip("/")
    provider_account = ProviderAccount.objects.filter(provider="stripe", merchant__isnull=True).first()
    if provider_account is None:
        provider_account = ProviderAccount.objects.create(provider="stripe", merchant=None, enabled=True)
    # The simulator keeps only a digest of the secret key: the one we hold is how we find our account again.
    secret_key = json.loads(provider_account.secrets or "{}").get("secret_key", "")
    account = account_for_key(secret_key) if secret_key else None
    if account is None:
        account = account_create(name=DEMO_ACCOUNT_NAME, fee_rate="0.0290", fee_fixed=0)
        secret_key = account.secret_key
    url = f"{public_url}/webhooks/stripe/{provider_account.pk}/"
    endpoint = WebhookEndpoint.objects.filter(account=account).first()
    if endpoint is None:
        endpoint = endpoint_create(account=account, url=url, enabled_events=list(WEBHOOK_EVENTS))
    elif endpoint.url != url:
        endpoint.url = url
        endpoint.save(update_fields=["url"])
    provider_account.enabled = True
    provider_account.settings = {"api_base": f"{public_url}/sandbox/stripe",
                                 "payment_page": f"{public_url}/sandbox/stripe/pay/{{id}}/",
                                 "account": account.pk, "publishable_key": account.publishable_key}
    provider_account.secrets = json.dumps({"secret_key": secret_key, "webhook_secret": endpoint.secret})
    provider_account.save()
    return provider_account
