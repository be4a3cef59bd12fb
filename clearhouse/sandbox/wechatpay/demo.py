"""Provision the WeChat Pay simulator for the demo: a merchant registration there and the platform's
`ProviderAccount` here pointing at it, so WeChat Pay is offered at checkout and works offline.

    demo_provision(public_url="http://127.0.0.1:8000")

Idempotent: run again, it keeps the keys (only the addresses follow `public_url`). The merchant's
private key is generated here and goes only into the account's encrypted secrets; the simulator keeps
its public half, as WeChat Pay keeps a merchant's API certificate.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.wechatpay.domain import (
    new_rsa_key,
    private_pem,
    public_pem,
    self_signed_certificate,
    serial_hex,
)
from clearhouse.sandbox.wechatpay.models import Merchant
from clearhouse.sandbox.wechatpay.services import merchant_register

DEMO_MCHID = "1230000109"
DEMO_APPID = "wxd930ea5d5a258f4f"


def account_settings(*, public_url: str, mchid: str, appid: str, cert_serial_no: str) -> dict:
    base = public_url.rstrip("/")
    return {"mchid": mchid, "appid": appid, "cert_serial_no": cert_serial_no,
            "api_base": f"{base}/sandbox/wechatpay", "scan_url": f"{base}/sandbox/wechatpay/scan/"}


def merchant_credentials(*, mchid: str, appid: str, name: str = "Clearhouse demo shop") -> tuple[Merchant, dict]:
    """Register (or re-key) a simulator merchant; returns it and the secrets Clearhouse needs for it."""
    key = new_rsa_key()
    merchant_cert = self_signed_certificate(key, common_name=f"{mchid} merchant API certificate",
                                            now=timezone.now())
    merchant = merchant_register(mchid=mchid, appid=appid, merchant_serial=serial_hex(merchant_cert),
                                 merchant_public_key=public_pem(key), name=name)
    secrets = {"private_key": private_pem(key), "apiv3_key": merchant.apiv3_key,
               "platform_certificate": merchant.platform_certificate}
    return merchant, secrets


@transaction.atomic
def demo_provision(*, public_url: str) -> None:
    from clearhouse.payments.models import ProviderAccount

    account = ProviderAccount.objects.filter(provider="wechatpay", merchant__isnull=True).first()
    merchant = Merchant.objects.filter(mchid=DEMO_MCHID).first()
    in_step = (account is not None and merchant is not None
               and account.settings.get("cert_serial_no") == merchant.merchant_serial
               and account.settings.get("mchid") == merchant.mchid)
    if in_step:
        account.settings = {**account.settings, **account_settings(
            public_url=public_url, mchid=merchant.mchid, appid=merchant.appid,
            cert_serial_no=merchant.merchant_serial)}
        account.enabled = True
        account.save()
        return
    merchant, secrets = merchant_credentials(mchid=DEMO_MCHID, appid=DEMO_APPID)
    account = account or ProviderAccount(provider="wechatpay", merchant=None)
    account.enabled = True
    account.settings = account_settings(public_url=public_url, mchid=merchant.mchid, appid=merchant.appid,
                                        cert_serial_no=merchant.merchant_serial)
    account.secrets = json.dumps(secrets)
    account.save()
