# The mock in a container: `docker build -t ainative-mock .` then
# `docker run -p 8000:8000 -e AINATIVE_MOCK_ADMIN_TOKEN=change-me ainative-mock`.
# With several workers and Redis, see compose.yaml.
FROM python:3.12-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY mockserver ./mockserver
RUN pip install --no-cache-dir . && useradd --system --no-create-home mock
USER mock

# Bound beyond loopback, the control API (/_mock/) needs AINATIVE_MOCK_ADMIN_TOKEN.
ENV AINATIVE_MOCK_HOST=0.0.0.0 \
    AINATIVE_MOCK_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
ENTRYPOINT ["ainative-mock", "serve"]
