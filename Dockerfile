# syntax=docker/dockerfile:1
# Peso as one stateless API process. `docker compose up` runs it against Neo4j and MinIO;
# alone (`docker run -p 127.0.0.1:8000:8000 IMAGE`) it uses the embedded SQLite catalog and
# a local folder under /var/lib/peso (mount a volume there to keep them).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# an unprivileged user owning nothing but its data folder
RUN groupadd --system --gid 10001 peso \
 && useradd --system --uid 10001 --gid peso --home-dir /var/lib/peso --create-home \
        --shell /usr/sbin/nologin peso

WORKDIR /opt/peso
COPY pyproject.toml README.md ./
COPY server ./server
COPY schema ./schema
COPY loaders ./loaders
RUN python -m pip install . \
 && peso --version

ENV PESO_HOST=0.0.0.0 \
    PESO_PORT=8000 \
    PESO_DATA_DIR=/var/lib/peso
WORKDIR /var/lib/peso
USER peso
VOLUME ["/var/lib/peso"]
EXPOSE 8000

# /readyz answers 200 only when both stores answer; no curl in slim images, so Python asks
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PESO_PORT', '8000') + '/readyz', timeout=4)"]

CMD ["peso", "serve"]
