#!/usr/bin/env bash
# Pins the awnet-serve image of a kustomization to one build by digest:
#   bash scripts/set-image-digest.sh <kustomization dir> <registry>/awnet-serve@sha256:<64 hex>
# Writes its `images:` entry for awnet-serve (newName and digest, no tag), keeping the
# file's comments. A digest never moves, so a pod never runs a different build than the
# one tested, whatever the pull policy. Needs node and this repository's node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "set-image-digest: $*" >&2; exit 1; }
[ $# -eq 2 ] || fail "usage: bash scripts/set-image-digest.sh <kustomization dir> <registry>/<name>@sha256:<digest>"
dir="$1"
ref="$2"
file="$dir/kustomization.yaml"
[ -f "$file" ] || fail "$file does not exist"
[[ "$ref" =~ ^([a-z0-9.:-]+(/[a-z0-9._-]+)+)@(sha256:[0-9a-f]{64})$ ]] || fail "'$ref' is not <registry>/<name>@sha256:<64 hex digits>"
name="${BASH_REMATCH[1]}"
digest="${BASH_REMATCH[3]}"
[[ "${name%%/*}" == *.* || "${name%%/*}" == *:* || "${name%%/*}" == localhost ]] || fail "'$name' names no registry host"

FILE="$file" NAME="$name" DIGEST="$digest" node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
import { parseDocument } from "yaml";
const file = process.env.FILE;
const doc = parseDocument(readFileSync(file, "utf8"));
const images = (doc.get("images") ?? []).toJSON?.() ?? [];
const others = images.filter((i) => i.name !== "awnet-serve");
doc.set("images", [...others, { name: "awnet-serve", newName: process.env.NAME, digest: process.env.DIGEST }]);
writeFileSync(file, doc.toString());
'
echo "set-image-digest: $file: awnet-serve=$name@$digest"
