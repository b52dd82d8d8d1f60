#!/usr/bin/env bash
# `make image`: builds the operator's image with podman, offline, from Debian's packages alone, and tags it
# with the version the install manifest names (seldonio/seldon-meta-operator:<version>).
#
#  1. installs podman, runc and mmdebstrap with apt-get when missing;
#  2. makes a minimal Debian root filesystem of this machine's suite (mmdebstrap --variant=minbase with python3,
#     python3-venv, ca-certificates), imports it as localhost/seldon-meta-operator-base:<suite>, and caches the
#     tarball under ~/.cache/seldon-meta-operator/image/ (made once per suite);
#  3. builds the project's wheel and its dependencies' wheels on the host (pip wheel, pinned to the versions in
#     .venv, the ones the tests ran), plus cyclonedx-bom's for the SBOM;
#  4. builds the Dockerfile with --network=none and BASE_IMAGE=<that base>; pip installs the wheels with
#     --no-index, so no registry, index or CA is needed inside the build;
#  5. prints the image's size and writes its SBOM (CycloneDX JSON, made inside the build by cyclonedx-py) to
#     ~/.cache/seldon-meta-operator/image/seldon-meta-operator-<version>.cdx.json.
#
# Podman runs with the containers.conf of hack/image/containers.conf (through CONTAINERS_CONF; /etc is never
# touched): runc rather than crun, which rejects these machines' hybrid cgroup layout, and ulimits lower than
# podman's defaults, which root without CAP_SYS_RESOURCE cannot raise. Run anything else against the image with
# the same file: CONTAINERS_CONF=hack/image/containers.conf podman ...
#
# Usage: hack/image/build.sh            # build, print the image reference as the last line
#        hack/image/build.sh --print    # print the image reference only
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
manifest="$root/deploy/seldonoperator_install.yaml"

# The tag is the one the install manifest's Deployment names (one source: render/install.py IMAGE).
image=$(sed -n 's/^ *image: \(seldonio\/seldon-meta-operator:[^ ]*\)$/\1/p' "$manifest" | head -n1)
[[ -n "$image" ]] || { echo "hack/image/build.sh: no seldonio/seldon-meta-operator image in $manifest" >&2; exit 1; }
version=${image##*:}
if [[ "${1:-}" == "--print" ]]; then echo "$image"; exit 0; fi

start_all=$SECONDS
cache=${SMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seldon-meta-operator}/image
mkdir -p "$cache"
export CONTAINERS_CONF="$here/containers.conf"

# 1. Tools, from Debian's archive.
missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  sudo=(); if [[ $(id -u) != 0 ]]; then sudo=(sudo); fi
  echo "installing ${missing[*]} (apt-get)" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq podman runc mmdebstrap >/dev/null
fi

# 2. The base: this machine's Debian suite, minimal, with Python. Made once per suite.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n "$suite" ]] || { echo "hack/image/build.sh: /etc/os-release names no VERSION_CODENAME (a Debian suite is needed)" >&2; exit 1; }
base="localhost/seldon-meta-operator-base:$suite"
rootfs="$cache/base-$suite.tar"
if ! podman image exists "$base"; then
  if [[ ! -s "$rootfs" ]]; then
    echo "making the $suite base root filesystem (mmdebstrap, minbase)" >&2
    t=$SECONDS
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
      --aptopt='Acquire::Languages "none"' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --format=tar "$suite" "$rootfs.tmp"
    mv "$rootfs.tmp" "$rootfs"
    echo "made $rootfs in $((SECONDS - t))s" >&2
  fi
  podman import --quiet "$rootfs" "$base" >/dev/null
fi

# 3. The build context: what .dockerignore lets in, plus wheels built on the host (where PyPI is reachable),
#    pinned to the versions .venv holds. The wheel is built from the staged copy, so the clone gets no build/.
context="$cache/context"
rm -rf "$context"
mkdir -p "$context/wheels"
cp "$root/Dockerfile" "$root/.dockerignore" "$root/pyproject.toml" "$root/README.md" "$context/"
cp -r "$root/src" "$context/src"
find "$context/src" \( -name '__pycache__' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
project="$cache/project"
rm -rf "$project" && mkdir -p "$project"
cp -r "$context/pyproject.toml" "$context/README.md" "$context/src" "$project/"
t=$SECONDS
"$root/.venv/bin/pip" freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)==' > "$cache/constraints.txt"
# setuptools' deprecation chatter goes to a log, shown only when the build fails.
if ! "$root/.venv/bin/pip" wheel --quiet --disable-pip-version-check --wheel-dir "$context/wheels" \
  --constraint "$cache/constraints.txt" "$project" cyclonedx-bom 2>"$cache/pip-wheel.log"; then
  cat "$cache/pip-wheel.log" >&2; exit 1
fi
rm -rf "$project" "$cache/constraints.txt"
echo "built $(find "$context/wheels" -name '*.whl' | wc -l) wheels in $((SECONDS - t))s" >&2

# 4. The image, offline.
t=$SECONDS
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
podman build --quiet --network=none --pull=never \
  --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --tag "$image" "$context" >/dev/null
echo "built $image in $((SECONDS - t))s" >&2
# The build stage and the image this tag replaced are left untagged: remove them, or each build keeps ~600 MB.
podman image prune --force >/dev/null

# 5. Size and SBOM.
sbom="$cache/seldon-meta-operator-$version.cdx.json"
cid=$(podman create --quiet "$image")
podman cp "$cid:/usr/share/doc/seldon-meta-operator/sbom.cdx.json" "$sbom.tmp" && mv "$sbom.tmp" "$sbom"
podman rm --force "$cid" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$image")
components=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components", [])))' "$sbom")
echo "image $image: $((size / 1000000)) MB (base $base); SBOM $sbom: $components Python packages; $((SECONDS - start_all))s in all" >&2
echo "$image"
