#!/usr/bin/env bash
# Side-by-side benchmark of tlserve's pure-Go engine (cmd/onnxrun) and ONNX
# Runtime (cmd/ortbench) on a generated ResNet50, printed as a markdown table.
#
#   scripts/bench.sh            (or: make bench)
#
# For each batch size and thread count the two engines run alternately in
# the same invocation, so that both see the same machine load; compare the
# ratio column rather than absolute times on a shared machine. Each run does
# one untimed warm-up, then BENCH_N timed runs, and ends with the line
#   ms_per_image=41.7 images_per_second=24.0 peak_rss_mb=310
# onnxrun also prints load_ms=N (file to ready plan) on the line before it,
# shown in the "load ms" column ("-" for engines that do not print it).
#
# Environment:
#   BENCH_N         timed runs per measurement (default 10)
#   BENCH_BATCHES   batch sizes (default "1 8")
#   BENCH_THREADS   thread counts (default "1 2")
#   BENCH_VARIANT   modelgen variant (default resnet50-v1-folded-opset13)
#   BENCH_DIR       model cache directory (default $HOME/.cache/tlserve/models)
#   BENCH_ONNXGO=1  also run onnx-go (cmd/onnxgo-bench, build tag onnxgo)
#   ORT_LIB         ONNX Runtime library (default: scripts/install-ort.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

n="${BENCH_N:-10}"
batches="${BENCH_BATCHES:-1 8}"
threads_list="${BENCH_THREADS:-1 2}"
variant="${BENCH_VARIANT:-resnet50-v1-folded-opset13}"
dir="${BENCH_DIR:-$HOME/.cache/tlserve/models}"
onnxgo="${BENCH_ONNXGO:-0}"

log() { echo "bench: $*" >&2; }

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT

log "building binaries"
CGO_ENABLED=0 go build -trimpath -o "$bin/onnxrun" ./cmd/onnxrun
CGO_ENABLED=1 go build -trimpath -tags ort -o "$bin/ortbench" ./cmd/ortbench
go build -trimpath -o "$bin/genmodels" ./cmd/genmodels
if [ "$onnxgo" = 1 ]; then
	go build -trimpath -tags onnxgo -o "$bin/onnxgo-bench" ./cmd/onnxgo-bench
fi

ORT_LIB="$(scripts/install-ort.sh)"
export ORT_LIB

mkdir -p "$dir"
model="$dir/$variant.onnx"
log "generating $model"
"$bin/genmodels" -out "$dir" -variant "$variant" >&2

# measure CMD...: runs CMD and prints the values of its final line and its
# load_ms line as "ms ips rss load" (load "-" when absent), or "fail" when
# the final line is missing.
measure() {
	local out vals load
	out="$("$@" 2>&1)" || { log "FAILED: $*"; printf '%s\n' "$out" | tail -n 5 >&2; echo fail; return; }
	vals="$(printf '%s\n' "$out" | grep -E '^ms_per_image=' | tail -n 1 |
		sed -E 's/^ms_per_image=([0-9.]+) images_per_second=([0-9.]+) peak_rss_mb=([0-9]+).*/\1 \2 \3/' |
		grep -E '^[0-9.]+ [0-9.]+ [0-9]+$')" || { echo fail; return; }
	load="$(printf '%s\n' "$out" | sed -nE 's/^load_ms=([0-9.]+)$/\1/p' | tail -n 1)"
	echo "$vals ${load:--}"
}

# ratio A B prints A/B with two decimals, or "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# row ENGINE BATCH THREADS "ms ips rss load" RATIO
row() {
	local e="$1" b="$2" t="$3" m="$4" r="$5"
	if [ "$m" = fail ]; then
		echo "| $e | $b | $t | failed | failed | failed | - | - |"
	else
		set -- $m
		echo "| $e | $b | $t | $1 | $2 | $3 | ${4:--} | $r |"
	fi
}

onnxgo_flags=()
if [ "$onnxgo" = 1 ] && "$bin/onnxgo-bench" -h 2>&1 | grep -q -- '-batch'; then
	onnxgo_flags=(-batch)
fi

rows=()
for b in $batches; do
	for t in $threads_list; do
		log "batch $b, $t threads: onnxrun"
		ours="$(measure "$bin/onnxrun" -model "$model" -bench "$n" -batch "$b" -threads "$t")"
		log "batch $b, $t threads: onnxruntime"
		ort="$(measure "$bin/ortbench" -model "$model" -bench "$n" -batch "$b" -threads "$t")"
		ort_ms="$(echo "$ort" | awk '$1 != "fail" { print $1 }')"
		ours_ms="$(echo "$ours" | awk '$1 != "fail" { print $1 }')"
		rows+=("$(row tlserve "$b" "$t" "$ours" "$(ratio "$ours_ms" "$ort_ms")")")
		rows+=("$(row onnxruntime "$b" "$t" "$ort" 1.00)")
		if [ "$onnxgo" = 1 ] && { [ "$b" = 1 ] || [ ${#onnxgo_flags[@]} -gt 0 ]; } && [ "$t" = "$(echo $threads_list | awk '{ print $NF }')" ]; then
			# onnx-go sets its own parallelism; it runs once per batch size.
			log "batch $b: onnx-go"
			args=(-model "$model" -bench "$n")
			[ ${#onnxgo_flags[@]} -gt 0 ] && args+=(-batch "$b")
			og="$("measure" "$bin/onnxgo-bench" "${args[@]}")"
			og_ms="$(echo "$og" | awk '$1 != "fail" { print $1 }')"
			rows+=("$(row onnx-go "$b" "own" "$og" "$(ratio "$og_ms" "$ort_ms")")")
		fi
	done
done

echo
echo "$variant, BENCH_N=$n, $(nproc) CPUs, onnxruntime from $ORT_LIB"
echo
echo "| engine | batch | threads | ms/image | images/s | peak RSS MiB | load ms | ms/image vs ORT |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
