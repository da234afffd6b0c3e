#!/usr/bin/env bash
# System tools the tests use: the Fashion-MNIST IDX files (Debian dataset-fashion-mnist),
# promtool and a Prometheus server (Debian prometheus) for the alert rules, and a kubectl
# whose built-in kustomize renders k8s/ (components, patches and replacements need
# kustomize 4.5 or later: kubectl 1.24+). Debian starts the packaged Prometheus as a
# service where it can; the tests run their own.
#
#   bash scripts/install-system-deps.sh           # what npm test needs
#   bash scripts/install-system-deps.sh --image   # also what npm run test:image needs:
#                                                 # podman (with runc, rootless networking
#                                                 # and DNS) and mmdebstrap
set -euo pipefail
image=false
for arg in "$@"; do
  case "$arg" in
    --image) image=true ;;
    *) echo "install-system-deps: unknown option $arg (valid: --image)" >&2; exit 2 ;;
  esac
done

missing=()
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
if $image; then
  for tool in podman runc newuidmap slirp4netns mmdebstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  for path in /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns; do
    [ -x "$path" ] || missing+=("$(basename "$path")")
  done
fi
packages=()
for tool in "${missing[@]}"; do
  case "$tool" in
    newuidmap) packages+=(uidmap) ;;
    *) packages+=("$tool") ;;
  esac
done
if [ ${#packages[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi
promtool --version | head -n 1

# Debian's own kubectl (kubernetes-client, 1.20) is too old for these manifests, so a
# missing or old kubectl is reported rather than installed.
if ! command -v "${AWNET_KUBECTL:-kubectl}" >/dev/null 2>&1; then
  echo "install-system-deps: no kubectl on PATH; install kubectl 1.24 or later (or set AWNET_KUBECTL)" >&2
  exit 1
fi
kustomize="$("${AWNET_KUBECTL:-kubectl}" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
read -r major minor <<< "${kustomize:-0 0}"
if [ "$major" -lt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -lt 5 ]; }; then
  echo "install-system-deps: kubectl's kustomize is ${kustomize:-unknown}; k8s/ needs 4.5 or later (kubectl 1.24+)" >&2
  exit 1
fi
"${AWNET_KUBECTL:-kubectl}" version --client 2>/dev/null | head -n 2
if $image; then podman --version; fi
