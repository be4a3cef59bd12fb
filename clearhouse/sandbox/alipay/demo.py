"""Provision the Alipay simulator and Clearhouse's platform Alipay account for the demo.

`demo_provision(public_url=...)` registers a sandbox app (its own app key pair and Alipay's key pair
for it, generated here, never stored in the repository) and the platform `ProviderAccount` that
points at the simulator's gateway on the same server. Run again, it keeps matching keys and only
updates the address; when either side is missing or the keys no longer match, it makes fresh ones.
"""

from __future__ import annotations

import json

from django.db import transaction

from clearhouse.sandbox.alipay.domain import new_key_pair, public_pem_of
from clearhouse.sandbox.alipay.models import App

DEMO_APP_ID = "9021000100000001"
DEMO_SELLER_ID = "2088721000000001"


def _matches(account, app: App) -> bool:
    try:
        secrets = json.loads(account.secrets or "{}")
        return (account.settings.get("app_id") == app.app_id
                and public_pem_of(secrets["app_private_key"]).strip() == app.app_public_key.strip()
                and secrets["alipay_public_key"].strip() == app.alipay_public_key.strip())
    except (KeyError, ValueError, TypeError):
        return False


@transaction.atomic
def demo_provision(*, public_url: str) -> None:
    """The simulator's app and Clearhouse's platform Alipay account (enabled, page pay), idempotently."""
    from clearhouse.payments.models import ProviderAccount
    from clearhouse.payments.providers import reset_cache

    api_base = f"{public_url.rstrip('/')}/sandbox/alipay/gateway.do"
    app = App.objects.filter(app_id=DEMO_APP_ID).first()
    account = ProviderAccount.objects.filter(provider="alipay", merchant__isnull=True).first()
    if app is None or account is None or not _matches(account, app):
        app_private, app_public = new_key_pair()
        alipay_private, alipay_public = new_key_pair()
        app, _ = App.objects.update_or_create(app_id=DEMO_APP_ID, defaults={
            "seller_id": DEMO_SELLER_ID, "seller_email": "demo-seller@sandbox.alipay", "name": "Clearhouse demo",
            "app_public_key": app_public, "alipay_public_key": alipay_public, "alipay_private_key": alipay_private})
        secrets = json.dumps({"app_private_key": app_private, "alipay_public_key": alipay_public})
    else:
        secrets = account.secrets
    settings = {**(account.settings if account else {}), "app_id": app.app_id, "seller_id": app.seller_id,
                "api_base": api_base}
    settings.setdefault("flow", "page")
    if account is None:
        ProviderAccount.objects.create(provider="alipay", merchant=None, enabled=True, settings=settings,
                                       secrets=secrets)
    else:
        account.settings, account.secrets, account.enabled = settings, secrets, True
        account.save()
    reset_cache()  # this process; others see the account within PROVIDER_CACHE_S
    transaction.on_commit(reset_cache)
