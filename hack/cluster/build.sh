#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) and a matching kubectl from Go modules into a cache
# outside the clone, keyed by version, and only what is missing. Binaries are
# never committed. hack/cluster/localcluster.py and the tests put this bin dir
# first on PATH, so `kubectl` is the one built here.
#
# Usage: hack/cluster/build.sh          # build what is missing, print the bin dir
#        hack/cluster/build.sh --print  # print the bin dir only
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${SMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seldon-meta-operator}
bin_dir="$cache_root/cluster/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
if [[ "${1:-}" == "--print" ]]; then echo "$bin_dir"; exit 0; fi

# The module proxy is the only network these machines have; never try to fetch
# a Go toolchain, and keep GOFLAGS from the environment out of the build.
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0

# kwok v0.8.0 and etcd's wrapper module declare go 1.26: say so before Go does, in its own words.
command -v go >/dev/null || { echo "build.sh: Go 1.26 or newer is needed, and no go is on PATH" >&2; exit 1; }
go_version=$(go env GOVERSION); go_version=${go_version#go}
IFS=. read -r go_major go_minor _ <<<"$go_version"
if (( go_major < 1 || (go_major == 1 && go_minor < 26) )); then
  echo "build.sh: Go 1.26 or newer is needed to build the local control plane (found $go_version)" >&2; exit 1
fi

# The go.mod pins must match versions.env, or the cache key would lie.
grep -q "k8s.io/kubernetes $K8S_VERSION" "$here/k8s/go.mod" || { echo "hack/cluster/k8s/go.mod does not pin k8s.io/kubernetes $K8S_VERSION" >&2; exit 1; }
grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$here/etcd/go.mod" || { echo "hack/cluster/etcd/go.mod does not pin etcd $ETCD_VERSION" >&2; exit 1; }
grep -q "sigs.k8s.io/kwok $KWOK_VERSION" "$here/kwok/go.mod" || { echo "hack/cluster/kwok/go.mod does not pin kwok $KWOK_VERSION" >&2; exit 1; }

mkdir -p "$bin_dir"
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
k8s_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"

build() {  # build <module dir> <output name> <package> <ldflags>
  local dir=$1 out=$2 pkg=$3 ldflags=$4
  if [[ -x "$bin_dir/$out" ]]; then return 0; fi
  echo "building $out ($pkg)" >&2
  local start=$SECONDS
  # -pgo=off: kube-apiserver ships a default.pgo that makes the build much slower.
  (cd "$here/$dir" && go build -trimpath -pgo=off -tags selinux,notest,grpcnotrace \
     -ldflags "$ldflags" -o "$bin_dir/$out.tmp" "$pkg")
  mv "$bin_dir/$out.tmp" "$bin_dir/$out"
  echo "built $out in $((SECONDS - start))s" >&2
}

build etcd etcd go.etcd.io/etcd/server/v3 "-s -w"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
build k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build k8s kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
# kubectl from the same module and version (the machine's kubectl is a dispatcher we do not rely on).
build k8s kubectl k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
echo "$bin_dir"
