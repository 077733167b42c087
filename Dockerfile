# One image for every role: the web server (the default command), the Celery worker and beat,
# and the one-shot migration; docker-compose.yml picks the command for each.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BILLING_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=2

RUN useradd --create-home --uid 10001 --user-group app
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are baked into the image and served by WhiteNoise. Settings refuse to start
# without a secret, so the build uses a throw-away one; the real key comes from the environment.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
# WEB_CONCURRENCY sets gunicorn's worker count. The control socket is off: one process per container.
CMD ["gunicorn", "billing.wsgi", "--bind", "0.0.0.0:8000", "--threads", "4", "--access-logfile", "-", "--no-control-socket"]
