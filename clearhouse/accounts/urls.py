from django.urls import path

from clearhouse.accounts import views

app_name = "accounts"
urlpatterns = [
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views.mfa_verify_page, name="mfa_verify"),
]
