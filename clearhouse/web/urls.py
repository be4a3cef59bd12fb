from django.urls import path

from clearhouse.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("ledger/trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("healthz", views.healthz, name="healthz"),
]
