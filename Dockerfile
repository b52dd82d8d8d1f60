# The operator's image, seldonio/seldon-meta-operator:<version> in deploy/seldonoperator_install.yaml.
#
#   docker build -t seldonio/seldon-meta-operator:0.1.0 .          # official Python base, pip reaches PyPI
#   podman build -t seldonio/seldon-meta-operator:0.1.0 .
#   make image   # offline: a local Debian base and wheels built on the host (hack/image/build.sh)
#
# Two stages: "build" makes a virtualenv in /opt/venv (from wheels in ./wheels/ with no index when the context
# holds them, else from PyPI), and the final stage copies only that venv: no compiler, no pip cache, no tests,
# no source tree. A venv works on the official image (/usr/local/bin/python3) and on a Debian root filesystem
# (/usr/bin/python3, python3-venv) alike; both stages use the same base, so its interpreter path holds.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /context
# .dockerignore keeps the context to what a build reads: pyproject.toml, README.md, src/ and wheels/ if any.
COPY . .
RUN python3 -m venv /opt/venv \
 && if ls wheels/*.whl >/dev/null 2>&1; then \
      /opt/venv/bin/pip install --no-index --find-links=wheels seldon-meta-operator; \
    else \
      /opt/venv/bin/pip install .; \
    fi \
 && /opt/venv/bin/pip uninstall --yes pip setuptools wheel >/dev/null 2>&1 || true \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib
# A CycloneDX SBOM of exactly the venv the final stage gets, made by cyclonedx-py (PyPI: cyclonedx-bom) from
# its own venv, which stays in this stage.
RUN python3 -m venv /opt/sbom-tool \
 && if ls wheels/*.whl >/dev/null 2>&1; then \
      /opt/sbom-tool/bin/pip install --no-index --find-links=wheels cyclonedx-bom; \
    else \
      /opt/sbom-tool/bin/pip install cyclonedx-bom; \
    fi \
 && mkdir -p /sbom \
 && /opt/sbom-tool/bin/cyclonedx-py environment --output-reproducible --of JSON \
      -o /sbom/seldon-meta-operator.cdx.json /opt/venv/bin/python

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/seldon-meta-operator/seldon-meta-operator
LABEL org.opencontainers.image.title="seldon-meta-operator" \
      org.opencontainers.image.description="Kubernetes operator that installs and runs a Seldon ML-serving platform from one SeldonOperator resource" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed non-root uid: the Deployment runs it as 1000 with a read-only root filesystem and an emptyDir at
# /tmp, so everything that writes (HOME, TMPDIR) points there. Bytecode is compiled at build time.
RUN (useradd --uid 1000 --user-group --no-create-home --no-log-init --home-dir /tmp --shell /usr/sbin/nologin seldon \
     || echo 'seldon:x:1000:1000::/tmp:/usr/sbin/nologin' >> /etc/passwd) \
 && rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* "$HOME/.cache"
COPY --from=build /opt/venv /opt/venv
COPY --from=build /sbom/seldon-meta-operator.cdx.json /usr/share/doc/seldon-meta-operator/sbom.cdx.json
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 1000:1000
WORKDIR /tmp
EXPOSE 8080 8081
ENTRYPOINT ["seldon-meta-operator"]
CMD ["--json-logs"]
