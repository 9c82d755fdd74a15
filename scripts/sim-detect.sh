#!/usr/bin/env bash
# Iterations kobjsim needs to find each injected bug with the scenario meant to find it, for
# seeds 1..20 under the random and PCT schedulers (the issue's figure).
# Usage: scripts/sim-detect.sh [iterations-max] [scenario:bug ...]
#   iterations-max  default 10000; a seed that finds nothing within it prints "miss"
#   scenario:bug    default: every pair below
# Exit 1 if any seed misses.
set -euo pipefail
cd "$(dirname "$0")/.."
max=10000
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  max="$1"
  shift
fi
pairs=("$@")
[[ ${#pairs[@]} -gt 0 ]] || pairs=(
  lazy-alloc-race:lazy-alloc-no-undo
  lazy-alloc-labeled-race:lazy-alloc-no-undo
  replace-stored-right:replace-stored-right-unlocked
  dispatch-vs-destroy:unknown-id-spoofed-no-senders
  dispatch-vs-destroy:voucher-swap
  dispatch-vs-destroy:reply-to-kernel-port
  dispatch-vs-destroy:dealloc-wrong-mscount
  dispatch-vs-destroy:async-wake-double-release
  mixed:add-notification-ool-leak
  mixed:skip-label-check
  notify-vs-death:request-left-behind
  notify-vs-death:replaced-request-leak
  nsrequest-vs-dealloc:pdrequest-not-cleared
)
cargo build --release -q -p kobjsim
kobjsim=target/release/kobjsim
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
missed=0
for pair in "${pairs[@]}"; do
  scenario="${pair%%:*}" bug="${pair##*:}"
  for scheduler in random pct; do
    counts=()
    for seed in $(seq 1 20); do
      line="$("$kobjsim" run --scenario "$scenario" --bug "$bug" --scheduler "$scheduler" \
                --seed "$seed" --iterations "$max" --out "$out" | grep 'violation at' || true)"
      if [[ -z "$line" ]]; then counts+=("miss"); missed=1; continue; fi
      iteration="$(sed -E 's/.*violation at iteration ([0-9]+).*/\1/' <<<"$line")"
      counts+=("$((iteration + 1))")
    done
    printf '%-24s %-30s %-7s %s\n' "$scenario" "$bug" "$scheduler" "${counts[*]}"
  done
done
exit "$missed"
