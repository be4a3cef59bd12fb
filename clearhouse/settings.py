"""Django settings, read from environment variables.

Everything a deployment changes comes from the environment; the defaults make
a working single-machine demo on SQLite.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CLEARHOUSE_DATA_DIR", BASE_DIR.parent / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("CLEARHOUSE_DEBUG", False)
SECRET_KEY = os.environ.get("CLEARHOUSE_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("CLEARHOUSE_ENV", "demo") == "production":
        raise RuntimeError("CLEARHOUSE_SECRET_KEY must be set in production")
    SECRET_KEY = "demo-only-insecure-secret-key-change-me"  # noqa: S105

ALLOWED_HOSTS = os.environ.get("CLEARHOUSE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("CLEARHOUSE_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI from our static files, not a CDN (machines may be offline)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "clearhouse.core",
    "clearhouse.accounts",
    "clearhouse.ledger",
    "clearhouse.customers",
    "clearhouse.catalog",
    "clearhouse.inventory",
    "clearhouse.orders",
    "clearhouse.notifications",
    "clearhouse.payments",
    "clearhouse.settlement",
    "clearhouse.sandbox",
    "clearhouse.sandbox.stripe",
    "clearhouse.sandbox.paypal",
    "clearhouse.sandbox.alipay",
    "clearhouse.sandbox.wechatpay",
    "clearhouse.api",
    "clearhouse.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clearhouse.accounts.middleware.MfaRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clearhouse.api.idempotency.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",
]
if os.environ.get("CLEARHOUSE_COUNT_QUERIES") == "1":  # benchmarks only: statements per request (bench/w1)
    MIDDLEWARE.insert(0, "clearhouse.core.query_count.QueryCountMiddleware")

ROOT_URLCONF = "clearhouse.urls"
WSGI_APPLICATION = "clearhouse.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def database_from_env() -> dict:
    """SQLite file by default; PostgreSQL (or another) through DATABASE_URL.

    SQLite runs in WAL mode with synchronous=FULL (durable commits) and
    BEGIN IMMEDIATE so concurrent writers queue on the busy timeout instead
    of failing on a lock upgrade.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        url = f"sqlite:///{DATA_DIR / 'clearhouse.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CLEARHOUSE_CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        }
        # One test database file per test run, so parallel runs never share one.
        config["TEST"] = {"NAME": str(DATA_DIR / f"test_clearhouse_{os.getpid()}.sqlite3")}
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "clearhouse.accounts.auth_backends.LoginThrottleBackend",
    "clearhouse.accounts.auth_backends.AccountBackend",
]
# Login throttling (django-axes): 5 failures for one username from one address
# lock that pair out for 15 minutes; a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("CLEARHOUSE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "clearhouse.accounts.auth_backends.client_ip"
AXES_LOCKOUT_CALLABLE = "clearhouse.accounts.views.locked_out"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "Clearhouse"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("CLEARHOUSE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
CLEARHOUSE_SERVE_MEDIA = env_bool("CLEARHOUSE_SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = env_bool("CLEARHOUSE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("CLEARHOUSE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Field encryption keys: "kid:base64key,kid2:base64key2"; the first encrypts,
# all decrypt (rotation). The demo key is for the demo only.
CLEARHOUSE_ENCRYPTION_KEYS = os.environ.get(
    "CLEARHOUSE_ENCRYPTION_KEYS", "demo1:ZGVtby1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="
)

# Balance cache: postings add to one of N stripes per account and day, so
# concurrent writers to a hot account (a clearing account gets every payment)
# rarely wait on one another's row lock.
LEDGER_BALANCE_STRIPES = int(os.environ.get("CLEARHOUSE_LEDGER_BALANCE_STRIPES", "16"))

# API keys record their last use at most this often (one write per key per window).
API_KEY_LAST_USED_RESOLUTION_S = 60

# Points (customers): one programme in one currency. Earned on completed
# orders at POINTS_EARN_RATE points per 1.00 spent (rounded down); redeemed
# at POINTS_PER_CURRENCY_UNIT points = 1.00; earned points lapse after
# POINTS_VALID_DAYS. Rates are decimal strings, never floats.
POINTS_CURRENCY = os.environ.get("CLEARHOUSE_POINTS_CURRENCY", "CNY")
POINTS_EARN_RATE = os.environ.get("CLEARHOUSE_POINTS_EARN_RATE", "1")
POINTS_PER_CURRENCY_UNIT = os.environ.get("CLEARHOUSE_POINTS_PER_CURRENCY_UNIT", "100")
POINTS_VALID_DAYS = int(os.environ.get("CLEARHOUSE_POINTS_VALID_DAYS", "365"))

# Orders: an order not paid this long after checkout is cancelled as expired
# and its stock, coupon uses and points go back.
ORDER_UNPAID_EXPIRY = timedelta(minutes=int(os.environ.get("CLEARHOUSE_ORDER_UNPAID_EXPIRY_MINUTES", "30")))

# Settlement: an order is eligible once it has been in this state for the
# schedule's eligibility delay (manual statements: the default delay below).
CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS = os.environ.get("CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS", "completed")
CLEARHOUSE_SETTLEMENT_DEFAULT_DELAY_DAYS = int(os.environ.get("CLEARHOUSE_SETTLEMENT_DEFAULT_DELAY_DAYS", "0"))

# The address customers and providers reach this installation at: links in
# emails and SMS, provider return and notification (webhook) URLs.
CLEARHOUSE_PUBLIC_URL = os.environ.get("CLEARHOUSE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Notifications (notifications app). Email through Django's backends: the
# file backend writes each message to DATA_DIR/outbox/email (the demo), SMTP
# by setting CLEARHOUSE_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
# and the usual EMAIL_HOST/EMAIL_PORT/... SMS through our own small backend
# interface (console, file, locmem for tests).
EMAIL_BACKEND = os.environ.get("CLEARHOUSE_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "outbox" / "email")
EMAIL_HOST = os.environ.get("CLEARHOUSE_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CLEARHOUSE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CLEARHOUSE_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CLEARHOUSE_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("CLEARHOUSE_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("CLEARHOUSE_FROM_EMAIL", "Clearhouse <no-reply@clearhouse.localhost>")
CLEARHOUSE_SMS_BACKEND = os.environ.get("CLEARHOUSE_SMS_BACKEND", "clearhouse.notifications.sms.FileSmsBackend")
CLEARHOUSE_SMS_FILE_PATH = str(DATA_DIR / "outbox" / "sms")

# Payments. Each provider call waits at most PROVIDER_TIMEOUT_S; transient
# failures (timeouts, 5xx) are retried PROVIDER_MAX_TRIES times in all, with
# exponential backoff from PROVIDER_BACKOFF_BASE_S and full jitter.
PAYMENT_PROVIDER_TIMEOUT_S = float(os.environ.get("CLEARHOUSE_PROVIDER_TIMEOUT_S", "10"))
PAYMENT_PROVIDER_MAX_TRIES = int(os.environ.get("CLEARHOUSE_PROVIDER_MAX_TRIES", "3"))
PAYMENT_PROVIDER_BACKOFF_BASE_S = float(os.environ.get("CLEARHOUSE_PROVIDER_BACKOFF_BASE_S", "0.2"))
# Card payments capture automatically unless set to "manual" (authorize now, capture when shipping).
PAYMENT_CAPTURE_METHOD = os.environ.get("CLEARHOUSE_PAYMENT_CAPTURE_METHOD", "automatic")
# Refunds above this amount (major units, order currency) wait for a finance manager's approval.
REFUND_APPROVAL_THRESHOLD = os.environ.get("CLEARHOUSE_REFUND_APPROVAL_THRESHOLD", "500.00")
# Unpaid orders get a reminder this many minutes after submission (one per slot).
PAYMENT_REMINDER_MINUTES = [
    int(m) for m in os.environ.get("CLEARHOUSE_PAYMENT_REMINDER_MINUTES", "10,20").split(",") if m.strip()
]
# The janitor queries intents and refunds stuck in processing this long, with
# backoff, and lists them as exceptions for finance after STUCK_MAX_QUERIES tries.
PAYMENT_STUCK_AFTER_S = int(os.environ.get("CLEARHOUSE_PAYMENT_STUCK_AFTER_S", "60"))
PAYMENT_STUCK_MAX_QUERIES = int(os.environ.get("CLEARHOUSE_PAYMENT_STUCK_MAX_QUERIES", "6"))
# Where customers send bank transfers (shown on the payment instructions).
BANK_TRANSFER_BENEFICIARY = os.environ.get("CLEARHOUSE_BANK_BENEFICIARY", "Clearhouse Demo Trading Co., Ltd.")
BANK_TRANSFER_BANK = os.environ.get("CLEARHOUSE_BANK_NAME", "Demo Bank Shanghai Branch")
BANK_TRANSFER_ACCOUNT = os.environ.get("CLEARHOUSE_BANK_ACCOUNT", "6222 0210 0123 4567 890")

# The sandbox card provider (sandbox app): a local simulator of a card
# provider's test mode. Clearhouse reaches it over HTTP at SANDBOX_API_BASE
# with the secret key, and verifies its webhooks with the webhook secret.
CLEARHOUSE_SANDBOX_API_BASE = os.environ.get(
    "CLEARHOUSE_SANDBOX_API_BASE", f"{CLEARHOUSE_PUBLIC_URL}/sandbox/v1").rstrip("/")
CLEARHOUSE_SANDBOX_SECRET_KEY = os.environ.get("CLEARHOUSE_SANDBOX_SECRET_KEY", "sk_test_demo_only_sandbox_key")
CLEARHOUSE_SANDBOX_WEBHOOK_SECRET = os.environ.get("CLEARHOUSE_SANDBOX_WEBHOOK_SECRET", "whsec_demo_only_sandbox")
# The simulator's fee on captured payments, and how long its "timeout" test card keeps a caller waiting.
CLEARHOUSE_SANDBOX_FEE_RATE = os.environ.get("CLEARHOUSE_SANDBOX_FEE_RATE", "0.0060")
CLEARHOUSE_SANDBOX_SLOW_RESPONSE_S = float(os.environ.get("CLEARHOUSE_SANDBOX_SLOW_RESPONSE_S", "15"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CLEARHOUSE_LOG_LEVEL", "WARNING")},
}
