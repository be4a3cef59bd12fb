"""Wire the PayPal simulator into the demo: its REST app, and Clearhouse's platform PayPal account.

`demo_provision(public_url=...)` is idempotent: the first run generates a
client id, a client secret and a webhook id, registers the app in the
simulator (secret kept there only as a digest) and creates the platform's
`ProviderAccount(provider="paypal")` pointing at `{public_url}/sandbox/paypal`
with the secret encrypted in `secrets`. Later runs keep the credentials and
re-align the simulator's side (webhook URL, secret digest) with the account.
"""

from __future__ import annotations

import json
import secrets

from django.db import transaction

from clearhouse.sandbox.paypal.domain import new_id
from clearhouse.sandbox.paypal.services import app_register, signing_cert_get

MERCHANT_ID = "CLEARHOUSEDEMO"


@transaction.atomic
def demo_provision(*, public_url: str) -> None:
    from clearhouse.payments.models import ProviderAccount

    public_url = public_url.rstrip("/")
    account = ProviderAccount.objects.filter(provider="paypal", merchant__isnull=True).first()
    conf = dict(account.settings) if account else {}
    secret = json.loads(account.secrets or "{}").get("client_secret") if account else None
    if not (conf.get("client_id") and conf.get("webhook_id") and secret):
        conf = {"client_id": f"A{secrets.token_urlsafe(60)[:79]}", "webhook_id": new_id(17)}
        secret = f"E{secrets.token_urlsafe(60)[:79]}"
    conf.update({"api_base": f"{public_url}/sandbox/paypal", "merchant_id": MERCHANT_ID})
    if account is None:
        account = ProviderAccount(provider="paypal", merchant=None)
    account.enabled, account.settings, account.secrets = True, conf, json.dumps({"client_secret": secret})
    account.save()
    app_register(client_id=conf["client_id"], client_secret=secret, merchant_id=MERCHANT_ID,
                 webhook_id=conf["webhook_id"], webhook_url=f"{public_url}/webhooks/paypal/{account.pk}/")
    signing_cert_get()
