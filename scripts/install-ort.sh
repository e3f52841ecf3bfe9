#!/usr/bin/env bash
# Installs the ONNX Runtime shared library used as a test oracle and by
# cmd/ortbench, and prints its path on stdout (progress goes to stderr), so
# that callers can do: export ORT_LIB="$(scripts/install-ort.sh)".
#
# The library comes from the npm package onnxruntime-node (which ships
# libonnxruntime.so.1 beside its Node addon); --ignore-scripts skips the
# addon's post-install download of GPU providers. onnxruntime_go v1.27.0
# requests C API version 24, which 1.30.0 serves.
#
# Idempotent: nothing is downloaded when the library is already there.
#
# Environment:
#   ORT_LIB      if set to an existing file, it is printed and nothing else
#                happens.
#   ORT_DIR      install directory (default $HOME/.cache/tlserve/ort).
#   ORT_VERSION  onnxruntime-node version (default 1.30.0).
set -euo pipefail

if [ -n "${ORT_LIB:-}" ] && [ -f "$ORT_LIB" ]; then
	echo "$ORT_LIB"
	exit 0
fi

dir="${ORT_DIR:-$HOME/.cache/tlserve/ort}"
version="${ORT_VERSION:-1.30.0}"
case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*) echo "install-ort: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
pkg="$dir/node_modules/onnxruntime-node"
lib="$pkg/bin/napi-v6/$os/$arch/libonnxruntime.so.1"

installed_version() {
	sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" 2>/dev/null | head -n1
}

if [ ! -f "$lib" ] || [ "$(installed_version)" != "$version" ]; then
	command -v npm >/dev/null || { echo "install-ort: npm is required (apt-get install npm)" >&2; exit 1; }
	echo "install-ort: installing onnxruntime-node@$version into $dir" >&2
	mkdir -p "$dir"
	npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --silent \
		"onnxruntime-node@$version" >&2
fi
[ -f "$lib" ] || { echo "install-ort: $lib missing after install" >&2; exit 1; }
echo "$lib"
