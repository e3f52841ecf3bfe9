#!/usr/bin/env bash
# Downloads a pretrained ResNet50 backbone from the ONNX model zoo, checks it
# by loading it with tlserve's engine, and writes its manifest and labels
# beside it.
#
#   scripts/get-model.sh [OUT]            OUT defaults to models/resnet50.onnx
#
# Environment:
#   MODEL_URL     where to fetch from (curl syntax; file:// works for local
#                 copies). Default: the model zoo's resnet50-v1-7.onnx.
#   MODEL_VARIANT v1 (default) or v2: picks resnet50-v1-7 or resnet50-v2-7.
#   MODEL_SHA256  optional expected SHA-256 of the file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/models/resnet50.onnx}"
variant="${MODEL_VARIANT:-v1}"
case "$variant" in
v1 | v2) ;;
*) echo "get-model: MODEL_VARIANT must be v1 or v2, not $variant" >&2; exit 2 ;;
esac
zoo="https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model"
url="${MODEL_URL:-$zoo/resnet50-$variant-7.onnx}"
dir="$(dirname "$out")"
base="$(basename "$out" .onnx)"
mkdir -p "$dir"

if [ -s "$out" ]; then
	echo "get-model: $out already exists; delete it to download again"
else
	tmp="$(mktemp "$dir/.$base.XXXXXX.onnx")"
	trap 'rm -f "$tmp"' EXIT
	echo "get-model: downloading $url"
	curl -fL --retry 3 --connect-timeout 20 -o "$tmp" "$url"
	if [ -n "${MODEL_SHA256:-}" ]; then
		echo "$MODEL_SHA256  $tmp" | sha256sum -c - >/dev/null ||
			{ echo "get-model: SHA-256 mismatch for $url" >&2; exit 1; }
	fi
	echo "get-model: checking that the file loads"
	(cd "$root" && go run ./cmd/onnxrun -model "$tmp" -info) ||
		{ echo "get-model: $url is not a model tlserve can load" >&2; exit 1; }
	mv "$tmp" "$out"
	trap - EXIT
fi

# The manifest and labels go beside the model, as the server expects.
[ -f "$dir/$base.json" ] || sed "s/\"name\": *\"[^\"]*\"/\"name\": \"$base\"/" "$root/models/resnet50.json" >"$dir/$base.json"
[ -f "$dir/imagenet_classes.txt" ] || cp "$root/models/imagenet_classes.txt" "$dir/"
echo "get-model: ready: $out (manifest $dir/$base.json)"
