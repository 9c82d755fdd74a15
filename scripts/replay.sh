#!/usr/bin/env bash
# Decodes a saved fuzz input into readable actions, replays it on stable and shows the finding.
# usage: scripts/replay.sh FILE [--target TARGET] [--bug BUG]
# Exit status: 0 no finding, 1 a finding, 2 a usage error.
set -euo pipefail
if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: scripts/replay.sh FILE [--target TARGET] [--bug BUG]" >&2
  echo "  TARGET: mig_dispatch | kobject_lifecycle | mig_hash | sched_race | artifact_parse" >&2
  echo "          (default: from the file's path)" >&2
  echo "  BUG: a kobject::Bug name or none (default: a regression's <bug>-- prefix, else \$KOBJSIM_BUG)" >&2
  exit 2
fi
file="$(realpath -- "$1")"
shift
cd "$(dirname "$0")/.."
cargo build -q --release -p kobject-fuzz --example replay
exec target/release/examples/replay "$file" "$@"
