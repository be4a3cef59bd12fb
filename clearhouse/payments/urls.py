from django.urls import path

from clearhouse.payments.views import provider_webhook

urlpatterns = [
    path("<slug:provider>/", provider_webhook, name="provider-webhook"),
    path("<slug:provider>/<int:account_id>/", provider_webhook, name="provider-account-webhook"),
]
