#!/usr/bin/env bash
# Tools the deployment checks (test/deploy/) run: promtool and a Prometheus server
# (Debian package prometheus) and kubectl with its built-in kustomize. Any kubectl since
# 1.14 renders k8s/; when none is on PATH, Debian's kubernetes-client (1.20) is installed.
# Debian starts the packaged Prometheus as a service where it can; the tests run their own.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
promtool --version | head -n 1
kubectl version --client 2>/dev/null | head -n 2
