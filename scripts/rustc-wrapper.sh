#!/bin/sh
# cargo's rustc wrapper for this workspace (.cargo/config.toml): runs `rustc ARGS` unchanged,
# except that an invocation carrying `-Zsanitizer=...` (cargo fuzz's default AddressSanitizer
# build) gets RUSTC_BOOTSTRAP=1, so a stable toolchain accepts it as nightly does. Stable ships
# the sanitizer runtimes; only the flag is gated. Nothing else changes for any other build.
rustc="$1"
shift
for arg in "$@"; do
  case "$arg" in
    -Zsanitizer=*)
      RUSTC_BOOTSTRAP=1
      export RUSTC_BOOTSTRAP
      break
      ;;
  esac
done
exec "$rustc" "$@"
