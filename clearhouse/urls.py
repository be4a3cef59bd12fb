from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.static import serve

from clearhouse.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("clearhouse.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("clearhouse.payments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("sandbox/", include("clearhouse.sandbox.urls")),
    path("", include("clearhouse.web.urls")),
]


# Uploaded files that only their owners may see (payout vouchers): served by views that check scope, never here.
PRIVATE_MEDIA_PREFIXES = ("settlement/",)


def _media(request, path):
    if path.lstrip("/").startswith(PRIVATE_MEDIA_PREFIXES):
        raise Http404
    # MEDIA_ROOT is read per request, not frozen at import, so a changed setting (tests) is honoured.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if settings.CLEARHOUSE_SERVE_MEDIA:
    # Product images for the demo and single-machine installs; behind a web server, let it serve MEDIA_ROOT.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", _media))
