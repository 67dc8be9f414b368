FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 offlinetube
WORKDIR /app
COPY pyproject.toml README.md ./
COPY offlinetube_api ./offlinetube_api
RUN pip install --no-cache-dir . \
    && mkdir -p /app/downloads /app/thumbnails /app/data /app/media \
    && chown -R offlinetube:offlinetube /app/downloads /app/thumbnails /app/data /app/media

ENV OFFLINETUBE_HOST=0.0.0.0 \
    OFFLINETUBE_PORT=8001 \
    OFFLINETUBE_DOWNLOADS_DIR=/app/downloads \
    OFFLINETUBE_THUMBNAILS_DIR=/app/thumbnails \
    OFFLINETUBE_DATA_DIR=/app/data \
    PYTHONUNBUFFERED=1

USER offlinetube
VOLUME ["/app/downloads", "/app/thumbnails", "/app/data"]
EXPOSE 8001
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/api/health', timeout=4)"]

CMD ["offlinetube-api"]
