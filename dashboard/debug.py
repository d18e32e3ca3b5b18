"""What Django's debug page (DEBUG=1 only) may show of the settings.

Django's own filter hides settings named like API, TOKEN, KEY, SECRET, PASS or SIGNATURE. This project
also holds credentials inside URLs (DATABASE_URL, REDIS_URL, the Celery broker and result backend, the
cache LOCATION), so anything named URL, LOCATION or DSN is hidden too."""

import re

from django.views.debug import SafeExceptionReporterFilter


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|LOCATION|DSN|BROKER|BACKEND", flags=re.I
    )
