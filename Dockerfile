# One image for the web process and the webhook worker, served by waitress.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MODERATION_HOST=0.0.0.0 \
    MODERATION_PORT=8080 \
    MODERATION_THREADS=32 \
    MODERATION_INSTANCE_DIR=/var/lib/moderation \
    MODERATION_MODELS_DIR=/app/models

RUN useradd --system --uid 10001 --home-dir /var/lib/moderation --shell /usr/sbin/nologin moderation \
    && mkdir -p /var/lib/moderation && chown moderation /var/lib/moderation

WORKDIR /app
COPY pyproject.toml README.md ./
COPY moderation ./moderation
RUN pip install .
COPY models ./models

USER moderation
EXPOSE 8080
VOLUME ["/var/lib/moderation"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"MODERATION_PORT\"]}/healthz', timeout=4)"

# MODERATION_DATABASE_URL (postgresql+psycopg://...) and MODERATION_SECRET_KEY come from the environment.
CMD ["moderation", "serve"]
