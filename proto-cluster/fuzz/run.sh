#!/usr/bin/env bash
# Runs every cluster fuzz target for a bounded time and prints one line per target:
#   fuzz <target>: <N> execs, <result>
# Usage: proto-cluster/fuzz/run.sh [SECONDS_PER_TARGET]   (default 20)
# Needs the nightly toolchain; installs cargo-fuzz if it is missing. Starts from the
# committed seeds in corpus/<target>/ without writing to them (new inputs go to a
# scratch corpus). Exits non-zero if any target crashed; the crashing input is left in
# fuzz/artifacts/<target>/ and the tail of libFuzzer's log is printed.
set -euo pipefail

seconds="${1:-20}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.."

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

targets=(envelope_open envelope_sealed replay_window beacon_decode membership_decode)
failed=0
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if cargo +nightly fuzz build "$target" >"$log" 2>&1 &&
        cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
            -max_total_time="$seconds" -print_final_stats=1 >>"$log" 2>&1; then
        result="ok"
    else
        result="FAILED (crash or build error, log tail below)"
        failed=1
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    echo "fuzz $target: ${execs:-0} execs, $result"
    if [ "$result" != "ok" ]; then
        tail -n 40 "$log" >&2
    fi
done
exit "$failed"
