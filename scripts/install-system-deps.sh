#!/usr/bin/env bash
# System tools the tests use: the Fashion-MNIST IDX files (Debian dataset-fashion-mnist),
# promtool and a Prometheus server (Debian prometheus) for the alert rules, and kubectl with
# its built-in kustomize to render k8s/ (any kubectl since 1.14; Debian's kubernetes-client
# when none is on PATH). Debian starts the packaged Prometheus as a service where it can;
# the tests run their own.
set -euo pipefail
missing=()
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
promtool --version | head -n 1
kubectl version --client 2>/dev/null | head -n 2
