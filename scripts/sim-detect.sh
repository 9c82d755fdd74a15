#!/usr/bin/env bash
# Iterations kobjsim needs to find each injected bug, for seeds 1..20 (the issue's figure).
# Usage: scripts/sim-detect.sh [iterations-max]   (default 10000; exit 1 if any seed misses)
set -euo pipefail
cd "$(dirname "$0")/.."
max="${1:-10000}"
cargo build --release -q -p kobjsim
kobjsim=target/release/kobjsim
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
missed=0
for pair in lazy-alloc-race:lazy-alloc-no-undo \
            lazy-alloc-labeled-race:lazy-alloc-no-undo \
            replace-stored-right:replace-stored-right-unlocked; do
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
