# OfflineTube API: see the README's "Docker". `--build-arg PYTHON_IMAGE=...` builds on another
# Debian-based image with Python 3.11 or later as `python` (a local mirror of it, say).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

# Debian's ffmpeg, and tini as process 1: it passes signals on to the service and reaps what
# dies orphaned (a download's ffmpeg whose parent was killed). Versions follow Debian stable's
# security updates rather than pins.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg tini \
    && rm -rf /var/lib/apt/lists/*

# The virtual environment belongs to the service's user, so that yt-dlp can be upgraded inside a
# running container (see the README's "Keeping yt-dlp current").
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 1000 offlinetube \
    && python -m venv "$VIRTUAL_ENV" \
    && mkdir -p /app/downloads /app/thumbnails /app/data /app/media \
    && chown -R offlinetube:offlinetube "$VIRTUAL_ENV" /app
WORKDIR /app
USER 1000:1000

# The locked versions, each checked against its hash, then the project without resolving more.
COPY --chown=1000:1000 requirements/runtime.txt /app/src/requirements/runtime.txt
RUN pip install --require-hashes -r /app/src/requirements/runtime.txt
COPY --chown=1000:1000 pyproject.toml README.md /app/src/
COPY --chown=1000:1000 offlinetube_api /app/src/offlinetube_api
RUN pip install --no-deps /app/src && pip check
COPY docker/entrypoint.sh /usr/local/bin/offlinetube-entrypoint

ENV OFFLINETUBE_HOST=0.0.0.0 \
    OFFLINETUBE_PORT=8001 \
    OFFLINETUBE_DOWNLOADS_DIR=/app/downloads \
    OFFLINETUBE_THUMBNAILS_DIR=/app/thumbnails \
    OFFLINETUBE_DATA_DIR=/app/data

VOLUME ["/app/downloads", "/app/thumbnails", "/app/data"]
EXPOSE 8001
# Asks the health route on OFFLINETUBE_PORT and OFFLINETUBE_HOST as the service reads them, so a
# changed port needs no change here (offlinetube_api/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "offlinetube_api.healthcheck"]

ENTRYPOINT ["tini", "--", "offlinetube-entrypoint"]
CMD ["offlinetube-api"]
