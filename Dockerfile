# The image docker-compose.yml runs for web, worker and beat.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --system --home /app dashboard && mkdir -p /app/var && chown dashboard /app/var
USER dashboard
EXPOSE 8000
