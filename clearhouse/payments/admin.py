"""Admin: payments and refunds to look at (changed only through services), provider accounts to configure.

Provider credentials are write-only here: the form takes new secrets as JSON
and never shows the stored ones; saving with the field empty keeps them.
Every change to an account is written to the audit chain (without secrets).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from clearhouse.core.audit import audit_record
from clearhouse.payments.models import PaymentIntent, ProviderAccount, ProviderEvent, Refund, RejectedWebhook
from clearhouse.payments.providers import ADAPTERS, provider_for_account


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "order", "merchant", "method", "provider", "status", "amount_minor", "currency",
                    "created_at")
    list_filter = ("status", "method", "provider")
    search_fields = ("reference", "order__number", "provider_reference")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("reference", "intent", "status", "amount_minor", "currency", "offline", "created_at")
    list_filter = ("status", "offline")
    search_fields = ("reference", "order__number")


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ("provider", "event_id", "type", "outcome", "received_at")
    list_filter = ("provider", "outcome")


@admin.register(RejectedWebhook)
class RejectedWebhookAdmin(ReadOnlyAdmin):
    list_display = ("provider", "reason", "remote_addr", "received_at")


class ProviderAccountForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=[(name, name) for name in ADAPTERS])
    new_secrets = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text="JSON of keys and passwords (e.g. {\"secret_key\": \"...\"}). Stored encrypted and never shown "
                  "again; leave empty to keep the stored ones.")

    class Meta:
        model = ProviderAccount
        fields = ("provider", "merchant", "enabled", "settings")

    def clean_new_secrets(self):
        text = self.cleaned_data["new_secrets"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object of names and values.")
        return value


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = ("provider", "merchant", "enabled", "last_test_at", "last_test_result", "updated_at")
    list_filter = ("provider", "enabled")
    readonly_fields = ("last_test_at", "last_test_result")
    actions = ["test_connection"]

    def save_model(self, request, obj, form, change):
        secrets = form.cleaned_data.get("new_secrets")
        if secrets is not None:
            obj.secrets = json.dumps(secrets)
        super().save_model(request, obj, form, change)
        audit_record(action="payments.provider_account_saved", actor=request.user, object_type="provider_account",
                     object_id=obj.pk, payload={"provider": obj.provider, "merchant": obj.merchant_id,
                                                "enabled": obj.enabled, "settings": obj.settings,
                                                "secrets_changed": secrets is not None,
                                                "secret_names": sorted(secrets or {})})

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for account in queryset:
            try:
                adapter = provider_for_account(account.provider, account.pk)
                result = adapter.test_connection() if hasattr(adapter, "test_connection") else "no test available"
            except Exception as exc:  # shown to the admin, never raised: a failed test is an answer
                result = f"failed: {exc}"[:300]
            ProviderAccount.objects.filter(pk=account.pk).update(last_test_at=timezone.now(),
                                                                 last_test_result=str(result)[:300])
            level = messages.SUCCESS if result == "ok" else messages.WARNING
            self.message_user(request, f"{account}: {result}", level)
