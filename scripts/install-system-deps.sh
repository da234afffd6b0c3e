#!/usr/bin/env bash
# Debian packages the tests and tools use: the Fashion-MNIST IDX files and Prometheus
# (promtool and a real server for the alert-rule tests).
set -euo pipefail
packages=(dataset-fashion-mnist prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts the packaged Prometheus as a service where it can; the tests run their own.
