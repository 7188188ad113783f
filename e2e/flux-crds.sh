#!/usr/bin/env bash
# Regenerates testdata/e2e/crds/flux: the CRDs of the Flux APIs gitopsc
# renders, made with controller-gen from the Flux API modules (the newest
# that build on this Go), so the end-to-end run does not depend on a copy
# from elsewhere.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/testdata/e2e/crds/flux"
CONTROLLER_TOOLS=v0.23.0
MODULES=(github.com/fluxcd/kustomize-controller/api@v1.9.6 github.com/fluxcd/source-controller/api@v1.9.6)
export PATH="/usr/local/go/bin:$PATH"

work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
GOBIN="$work/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS"
mkdir -p "$work/crds"
for m in "${MODULES[@]}"; do
	dir="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$m" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
	src="$work/src/${m%@*}"
	mkdir -p "$src"
	cp -r "$dir/." "$src"
	chmod -R u+w "$src"
	(cd "$src" && GOFLAGS=-mod=mod "$work/bin/controller-gen" crd paths=./v1/... output:crd:dir="$work/crds")
done
rm -rf "$OUT"
mkdir -p "$OUT"
# Only the kinds gitopsc renders or refers to.
for f in kustomize.toolkit.fluxcd.io_kustomizations.yaml source.toolkit.fluxcd.io_gitrepositories.yaml source.toolkit.fluxcd.io_ocirepositories.yaml; do
	cp "$work/crds/$f" "$OUT/$f"
done
echo "wrote $(ls "$OUT" | wc -l) CRDs to ${OUT#"$ROOT"/}"
