# osaccess in a container, for CI jobs and for the sandbox's gateway service (docker-compose.yml).
FROM python:3.11-slim
ARG EXTRAS=sandbox
WORKDIR /src
COPY pyproject.toml README.md ./
COPY osaccess ./osaccess
RUN pip install --no-cache-dir ".[${EXTRAS}]" && useradd --system --no-create-home osaccess
USER osaccess
WORKDIR /work
ENTRYPOINT ["osaccess"]
CMD ["--help"]
