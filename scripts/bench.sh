#!/usr/bin/env bash
# Speed of every fuzz target beside the empty target, built the same way, in one run: each
# target fuzzes for SECONDS on one core from its committed corpus (new inputs go to a scratch
# directory), with the dictionary where it has one. The empty target gets mig_dispatch's corpus.
# usage: scripts/bench.sh [SECONDS] [--asan] [--no-trace-compares]
#   SECONDS              per target (default 20)
#   --asan               nightly with AddressSanitizer instead of stable `-s none`
#   --no-trace-compares  build without libFuzzer's comparison tracing (about twice the speed of
#                        mig_dispatch, no guidance towards compared values), in its own directory
# Prints target, exec/s, ratio to the empty target, peak RSS. Exit status: 0, or 2 on usage.
set -euo pipefail
usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
seconds=20
mode=none
nocmp=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --asan) mode=asan; shift ;;
    --no-trace-compares) nocmp=1; shift ;;
    *)
      [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "bench: unexpected argument $1" >&2; usage; }
      seconds="$1"
      shift
      ;;
  esac
done
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
if [[ $mode == none ]]; then
  KOBJSIM_FUZZ_MODE=none fuzz_setup
else
  fuzz_setup
  [[ "$FUZZ_MODE" == nightly* ]] || { echo "bench: --asan needs a nightly toolchain" >&2; exit 2; }
fi
[[ $nocmp -eq 0 ]] || fuzz_no_trace_compares
targets=(empty "${FUZZ_TARGETS[@]}")
fuzz_build "${targets[@]}"
bin_dir="$FUZZ_BIN_DIR"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
echo "bench: $FUZZ_MODE, ${seconds}s per target, $(nproc) cores, bug ${KOBJSIM_BUG:-none}"
printf '%-20s %12s %10s %12s\n' target exec/s vs-empty peak-rss-MB
empty_rate=""
for target in "${targets[@]}"; do
  seeds="$(fuzz_seeds "$target")"
  mkdir -p "$scratch/$target"
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$scratch/$target/")
  dict="$(fuzz_dict_args "$target")"
  [[ -n "$dict" ]] && args+=("$dict")
  "$bin_dir/$target" "$scratch/$target" "$seeds" "${args[@]}" >"$scratch/$target.log" 2>&1 || true
  rate="$(fuzz_stat average_exec_per_sec "$scratch/$target.log")"
  rss="$(fuzz_stat peak_rss_mb "$scratch/$target.log" '?')"
  if [[ $target == empty ]]; then
    empty_rate="$rate"
  fi
  ratio="$(awk -v r="$rate" -v e="$empty_rate" 'BEGIN { if (e > 0) printf "%.4f", r / e; else print "?" }')"
  if ls "$scratch/$target"/crash-* >/dev/null 2>&1; then
    rss="$rss (crashed)"
  fi
  printf '%-20s %12s %10s %12s\n' "$target" "$rate" "$ratio" "$rss"
done
