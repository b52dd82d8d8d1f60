# The operator's image, seldonio/seldon-meta-operator:<version> in deploy/seldonoperator_install.yaml:
#   docker build -t seldonio/seldon-meta-operator:0.1.0 .
# (Not built or published by this repository's checks: there is no container runtime where they run.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what `pip install .` needs (see .dockerignore); the source is removed once installed.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /build

# A fixed non-root uid: the Deployment's securityContext runs as 1000 with a read-only root filesystem and
# an emptyDir at /tmp.
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin seldon
USER 1000:1000
WORKDIR /tmp

EXPOSE 8080 8081
ENTRYPOINT ["seldonctl", "operator", "run", "--json-logs"]
