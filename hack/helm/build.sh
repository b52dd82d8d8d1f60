#!/usr/bin/env bash
# Builds helm from its Go module (pinned in hack/helm/go.mod) into a cache outside the clone, keyed by
# version, once. The chart's tests and `make helm` use it; it is never committed.
#
# Usage: hack/helm/build.sh          # build if missing, print the path of the helm binary
#        hack/helm/build.sh --print  # print the path only
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(awk '$1 == "helm.sh/helm/v3" {print $2}' "$here/go.mod")
[[ -n "$version" ]] || { echo "hack/helm/go.mod does not require helm.sh/helm/v3" >&2; exit 1; }

cache_root=${SMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seldon-meta-operator}
bin="$cache_root/helm/$version/bin/helm"
if [[ "${1:-}" == "--print" ]]; then echo "$bin"; exit 0; fi
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi

# As hack/cluster/build.sh: the module proxy is the only network; never fetch a Go toolchain.
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
command -v go >/dev/null || { echo "hack/helm/build.sh: Go 1.26 or newer is needed, and no go is on PATH" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
echo "building helm $version" >&2
start=$SECONDS
# helm's version command reports what the ldflags say (its Makefile sets the same variable).
(cd "$here" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
   -o "$bin.tmp" helm.sh/helm/v3/cmd/helm)
mv "$bin.tmp" "$bin"
echo "built helm $version in $((SECONDS - start))s" >&2
echo "$bin"
