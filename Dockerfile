# socialpub image: web (gunicorn, the default), worker (dramatiq) and the CLI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# psycopg2-binary and redis ship wheels, so the slim image needs no compiler.
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 socialpub \
 && mkdir -p /app/instance /app/metrics \
 && chown socialpub:socialpub /app/instance /app/metrics

# Never run the app as root; instance/ and metrics/ (Prometheus' multiprocess
# files; compose mounts a tmpfs there) are its only writable folders.
USER socialpub

EXPOSE 5000 9191
# wsgi.py and workers.py sit in /app (the working directory), so gunicorn and dramatiq find them.
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "2", "--threads", "4", "wsgi:app"]
