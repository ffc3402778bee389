# osaccess in a container, for CI jobs:  docker build -t osaccess .
#   docker run --rm -v "$PWD:/work" -e AWS_PROFILE -v ~/.aws:/home/osaccess/.aws:ro osaccess plan
# docker-compose.yml builds it with EXTRAS=sandbox for the sandbox's IAM gateway.
FROM python:3.11-slim
ARG EXTRAS=""
WORKDIR /src
COPY pyproject.toml README.md ./
COPY osaccess ./osaccess
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
    && useradd --system --create-home osaccess
USER osaccess
WORKDIR /work
ENTRYPOINT ["osaccess"]
CMD ["--help"]
