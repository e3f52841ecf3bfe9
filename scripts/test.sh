#!/usr/bin/env bash
# Runs tlserve's whole test suite on a fresh Debian machine: installs what the
# tests need (Debian packages and the ONNX Runtime library used as an oracle),
# then runs the Go tests, the pure-Go kernel fallback, the race detector over
# the concurrent paths, and the ONNX Runtime comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for p in libonnx-testdata dataset-fashion-mnist; do
	dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "== installing Debian packages: ${need_pkgs[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}"
fi

ORT_LIB="$(scripts/install-ort.sh)"
export ORT_LIB
echo "== ONNX Runtime library: $ORT_LIB"

echo "== go vet"
go vet ./...
go vet -tags ort ./...

echo "== scripts/get-model.sh against local files"
scripts/test-get-model.sh

echo "== go test (default build: assembly kernels where the CPU has them)"
go test -count=1 -timeout 25m ./...

echo "== ONNX node test suite: counts and skip reasons"
go test -count=1 -run '^TestNodeSuite$' -v ./internal/onnxmodel/ |
	grep -E '^(ok|FAIL)|--- FAIL|node suite:|skipped +[0-9]+:'

echo "== go test -tags purego (pure-Go kernel fallback)"
go test -count=1 -timeout 15m -tags purego ./internal/gemm/ ./internal/onnxmodel/

echo "== go test -race (concurrent use)"
go test -count=1 -timeout 15m -race -run 'Concurrent|Race' ./internal/...

echo "== go test -tags ort (ONNX Runtime as oracle)"
go test -count=1 -timeout 20m -tags ort ./internal/ortrun/ ./internal/onnxmodel/
