#!/usr/bin/env bash
# Builds every program of src/bin/ for each board, runs it under qemu-system-arm and
# compares what it prints with expected/<program>.<board>.txt.
#
# Deterministic: `-icount shift=0,sleep=off` makes the virtual clock follow the
# instructions run (and jump over `wfi`), so the programs print the same ticks on every
# run. Each run is bounded by `timeout`; a program fails on a failed check, a panic or a
# hard fault (each exits QEMU with failure through semihosting). `BLESS=1` rewrites the
# expected file of every program that passed its checks in this run.
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TERM_COLOR=never
# target, QEMU machine, CPU
boards=(
    "thumbv7m-none-eabi lm3s6965evb cortex-m3"
    "thumbv7em-none-eabihf mps2-an386 cortex-m4"
    "thumbv6m-none-eabi microbit cortex-m0"
)
programs=$(basename -s .rs src/bin/*.rs)
passed=0
failed=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for board in "${boards[@]}"; do
    read -r target machine cpu <<<"$board"
    cargo clippy --release --target "$target" --bins -- -D warnings
    cargo build --release --target "$target" --bins
    for program in $programs; do
        echo "=== $program on $machine"
        expected="expected/$program.$machine.txt"
        if grep -q __rust_alloc "target/$target/release/$program"; then
            echo "!!! $program links a global allocator"
            failed=$((failed + 1))
            continue
        fi
        status=0
        timeout 120 qemu-system-arm -machine "$machine" -cpu "$cpu" -nographic \
            -monitor none -serial none -semihosting-config enable=on,target=native \
            -icount shift=0,sleep=off -kernel "target/$target/release/$program" \
            >"$out/stdout" 2>"$out/stderr" || status=$?
        cat "$out/stdout"
        if [[ ${BLESS:-0} == 1 && $status == 0 ]]; then
            cp "$out/stdout" "$expected" # only a passing run becomes the expected output
        fi
        if [[ $status != 0 ]]; then
            echo "!!! $program on $machine exited with status $status; QEMU said:"
            cat "$out/stderr"
            failed=$((failed + 1))
        elif ! diff -u "$expected" "$out/stdout"; then
            echo "!!! $program on $machine: output differs from $expected"
            failed=$((failed + 1))
        else
            passed=$((passed + 1))
        fi
    done
done

echo "qemu: $passed passed, $failed failed"
[[ $failed == 0 ]]
