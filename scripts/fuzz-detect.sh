#!/usr/bin/env bash
# How fast mig_dispatch finds each injected bug: one run per bug, stopped at the first crash.
# usage: scripts/fuzz-detect.sh [SECONDS] [--empty] [--seed N] [BUG...]
#   SECONDS  budget per bug (default 60)
#   --empty  start from an empty corpus instead of corpus/mig_dispatch (dictionary kept)
#   --seed N libFuzzer seed (default 1), for repeatable figures
#   BUG...   default: the bugs mig_dispatch is meant to find
# Prints bug, found?, executions and seconds to the crash. Exit status: 0 every bug found,
# 1 some bug not found in its budget, 2 a usage error.
set -euo pipefail
usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
seconds=60
empty=0
seed=1
bugs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage ;;
    --empty) empty=1; shift ;;
    --seed)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage
      seed="$2"
      shift 2
      ;;
    -*) echo "fuzz-detect: unknown option $1" >&2; usage ;;
    *)
      if [[ "$1" =~ ^[0-9]+$ ]]; then seconds="$1"; else bugs+=("$1"); fi
      shift
      ;;
  esac
done
[[ ${#bugs[@]} -gt 0 ]] || bugs=(add-notification-ool-leak async-wake-double-release voucher-swap
  unknown-id-spoofed-no-senders reply-to-kernel-port skip-label-check nsrequest-missing-reference)
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh
KOBJSIM_FUZZ_MODE=none fuzz_setup
"${FUZZ_CARGO[@]}" build "${FUZZ_FLAGS[@]}" mig_dispatch >/dev/null 2>&1
bin="target/fuzz-none/x86_64-unknown-linux-gnu/release/mig_dispatch"
[[ -x "$bin" ]] || bin="$(find target/fuzz-none -path '*release/mig_dispatch' -type f | head -1)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
missed=0
printf '%-32s %-6s %12s %9s\n' bug found execs seconds
for bug in "${bugs[@]}"; do
  work="$tmp/$bug"
  mkdir -p "$work/corpus"
  corpora=("$work/corpus")
  [[ $empty -eq 1 ]] || corpora+=(corpus/mig_dispatch)
  start=$(date +%s.%N)
  KOBJSIM_BUG="$bug" "$bin" "${corpora[@]}" -seed="$seed" -max_total_time="$seconds" \
    -dict=fuzz/mig_dispatch.dict -print_final_stats=1 -artifact_prefix="$work/" \
    >"$work/log" 2>&1 || true
  end=$(date +%s.%N)
  execs="$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo '?')"
  if ls "$work"/crash-* >/dev/null 2>&1; then
    found=yes
  else
    found=no
    missed=1
  fi
  printf '%-32s %-6s %12s %9.1f\n' "$bug" "$found" "$execs" "$(echo "$end - $start" | bc)"
done
exit $missed
