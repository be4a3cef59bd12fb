"""`/webhooks/<provider>/`: providers' notifications in. Thin: the service verifies and applies."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clearhouse.core.errors import DomainError
from clearhouse.payments.providers import ADAPTERS
from clearhouse.payments.services import webhook_receive

MAX_BODY_BYTES = 256 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"type": "webhook_error", "code": code, "message": message, "param": None}},
                        status=status)


def _provider_refusal(provider: str, message: str, status: int) -> HttpResponse | None:
    """The refusal body a provider documents (WeChat Pay: {"code": "FAIL", ...}), when its adapter has one."""
    if provider not in ADAPTERS:
        return None
    adapter_class = import_string(ADAPTERS[provider])
    refusal = getattr(adapter_class, "webhook_refusal", None)
    if refusal is None:
        return None
    ack = refusal(message, status=status)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


@csrf_exempt  # providers cannot hold our CSRF token; the signature is what authenticates them
@require_POST
def provider_webhook(request: HttpRequest, provider: str, account_id: int | None = None) -> HttpResponse:
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "webhook_too_large", "The notification is larger than accepted.")
    try:
        result = webhook_receive(provider=provider, body=request.body, headers=request.headers,
                                 remote_addr=request.META.get("REMOTE_ADDR", ""), account_id=account_id)
    except DomainError as exc:
        status = exc.http_status if exc.http_status < 500 else 400
        refusal = _provider_refusal(provider, exc.message, status)
        return refusal or _error(status, exc.code, exc.message)
    response = HttpResponse(result.ack.body, status=result.ack.status, content_type=result.ack.content_type)
    response["X-Clearhouse-Webhook-Outcome"] = result.outcome
    return response
