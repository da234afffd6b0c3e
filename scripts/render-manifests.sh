#!/usr/bin/env bash
# Renders a kustomization for applying, refusing what would not work on a real cluster:
#   bash scripts/render-manifests.sh k8s/overlays/<yours> | kubectl apply -f -
# Fails, naming them, while placeholders remain in the output (example.com hosts: the
# image registry, the runbook links) or the awnet-serve image is not pinned by digest
# (scripts/set-image-digest.sh). The overlays shipped in k8s/overlays are templates and say
# so (metadata.annotations awnet-serve/template: "true" in their kustomization.yaml); they
# render with a warning instead. `kubectl apply -k` skips these checks.
set -euo pipefail

fail() { echo "render-manifests: $*" >&2; exit 1; }
[ $# -eq 1 ] || fail "usage: bash scripts/render-manifests.sh <kustomization dir>"
dir="$1"
[ -f "$dir/kustomization.yaml" ] || fail "$dir/kustomization.yaml does not exist"
out="$(${AWNET_KUBECTL:-kubectl} kustomize "$dir")"

problems=()
while IFS= read -r line; do problems+=("placeholder: ${line#"${line%%[![:space:]]*}"}"); done < <(grep -E '[a-z0-9.-]*example\.com' <<<"$out" | sort -u || true)
while IFS= read -r line; do problems+=("image not pinned by digest: ${line#*image: }"); done < <(grep -E '^\s*(- )?image: .*awnet-serve' <<<"$out" | grep -v '@sha256:[0-9a-f]\{64\}' | sort -u || true)

if [ ${#problems[@]} -gt 0 ]; then
  if grep -qE '^\s+awnet-serve/template: "?true"?\s*$' "$dir/kustomization.yaml"; then
    echo "render-manifests: $dir is a template; copy it into your own overlay and fix before applying:" >&2
    printf '  %s\n' "${problems[@]}" >&2
  else
    printf 'render-manifests: %s cannot be applied as it is:\n' "$dir" >&2
    printf '  %s\n' "${problems[@]}" >&2
    exit 1
  fi
fi
printf '%s\n' "$out"
