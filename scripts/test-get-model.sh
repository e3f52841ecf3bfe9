#!/usr/bin/env bash
# Tests scripts/get-model.sh against local files (file:// URLs), since CI has
# no route to the model zoo: a loadable model is installed with its manifest
# and labels; a file that is not a model is refused and leaves nothing behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$root/../shared/models/squeezenet1.1-fp16.onnx"
if [ ! -f "$model" ]; then
	echo "test-get-model: SKIP: ../shared/models/squeezenet1.1-fp16.onnx is absent"
	exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else echo "FAIL: $*"; fail=$((fail + 1)); fi; }

MODEL_URL="file://$model" "$root/scripts/get-model.sh" "$tmp/ok/backbone.onnx" >"$tmp/log" 2>&1 || cat "$tmp/log"
check test -s "$tmp/ok/backbone.onnx"
check cmp -s "$model" "$tmp/ok/backbone.onnx"
check grep -q '"name": "backbone"' "$tmp/ok/backbone.json"
check test -s "$tmp/ok/imagenet_classes.txt"

printf 'this is not an ONNX model' >"$tmp/garbage.onnx"
if MODEL_URL="file://$tmp/garbage.onnx" "$root/scripts/get-model.sh" "$tmp/bad/backbone.onnx" >"$tmp/log" 2>&1; then
	echo "FAIL: a garbage file was accepted"; fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
check test ! -e "$tmp/bad/backbone.onnx"
check test -z "$(ls -A "$tmp/bad")"

echo "get-model: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
