"""WSGI entry point (gunicorn clearhouse.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearhouse.settings")
application = get_wsgi_application()
