# The two set-up commands on a fresh machine are `make demo` and `make test` (see README.md).
# Every tool they need is installed by the targets below: a venv with the Python dependencies, and the
# local control plane built from Go modules into ~/.cache (never into the clone).

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: all venv bin test lint format typecheck imports unit golden cluster-tests generate check-generated \
        cluster-bin cluster-up cluster-down cluster-status prereqs-install prereqs-remove demo bench clean \
        helm-bin image checkov

all: test

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## Local control plane (issue: "A real local Kubernetes control plane")
cluster-bin:
	bash hack/cluster/build.sh

cluster-up: venv cluster-bin
	$(PY) hack/cluster/localcluster.py up

cluster-down: venv
	$(PY) hack/demo.py stop-background
	$(PY) hack/cluster/localcluster.py down

cluster-status: venv
	$(PY) hack/cluster/localcluster.py status

# make prereqs-install SET=istio   (sets: istio knative-eventing knative-serving cert-manager argo-workflows argo-cd all)
prereqs-install: venv
	$(PY) hack/cluster/localcluster.py prereqs install $(or $(SET),all)

prereqs-remove: venv
	$(PY) hack/cluster/localcluster.py prereqs remove $(or $(SET),all)

## helm, built from hack/helm/go.mod into ~/.cache (the chart's lint, render and install tests use it)
helm-bin:
	bash hack/helm/build.sh

## The operator's image, built offline with podman from a local Debian base and host-built wheels
## (hack/image/build.sh); tagged as the install manifest names it. Prints its size; writes its SBOM.
image: venv
	bash hack/image/build.sh

## Generated files (never hand-edited): the CRD and the install manifest in deploy/, the Helm chart in charts/
generate: venv
	$(PY) -m seldon_meta_operator.cli.main generate deploy

## Checks, in CI order (lint, types, import contracts, unit+golden, then the cluster suites)
format: venv
	$(BIN)/ruff format src tests hack

lint: venv
	$(BIN)/ruff format --check src tests hack
	$(BIN)/ruff check src tests hack

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest tests/unit tests/golden

## Security scan (issue 8): Checkov, in its own venv (installed once per pinned version), over the install manifest
## and the render of every example. Zero failures except .checkov.yaml's skips, each with its reason.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

checkov: venv $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for f in examples/*.yaml; do $(BIN)/seldonctl render -f "$$f" > "$$out/render-$$(basename $$f)" 2>/dev/null \
	  || { echo "seldonctl render -f $$f failed"; exit 1; }; done && \
	cp deploy/seldonoperator_install.yaml "$$out/" && \
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --directory "$$out" --framework kubernetes \
	  --compact --quiet --skip-download

cluster-tests: venv cluster-bin helm-bin
	$(BIN)/pytest tests/integration tests/e2e

# The image is rebuilt (warm: the base and pip cache are reused) so tests/integration/test_image.py runs this code.
test: venv cluster-bin helm-bin image lint typecheck imports checkov
	$(BIN)/pytest tests

## Benchmarks print figures; they assert nothing about speed.
bench: venv cluster-bin
	$(PY) -m benchmarks.cli_bench
	$(PY) -m benchmarks.render_bench
	$(PY) -m benchmarks.memory_bench
	$(PY) -m benchmarks.cluster_bench
	$(PY) -m benchmarks.apply_bench
	$(PY) -m benchmarks.idle_bench
	$(PY) -m benchmarks.leader_bench
	$(PY) -m benchmarks.fault_bench

demo: venv cluster-bin
	$(PY) hack/demo.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache
