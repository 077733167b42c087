"""Settings of the harnesses' web servers: billing.test_settings with quieter request logging.

A harness sends thousands of deliberately refused requests; Django logs each 4xx as a WARNING on
``django.request``, which would drown the figures the harness prints. Errors are still logged.
"""

from billing.test_settings import *  # noqa: F403
from billing.test_settings import LOGGING

LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "django.request": {"level": "ERROR"}}}
