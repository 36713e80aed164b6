#!/usr/bin/env bash
# Footprint on Cortex-M (release, fat LTO, opt-level "s", thumbv7em-none-eabihf):
# flash and static RAM of the first firmware program (`executor`) and of the twin
# program beside the same program on Embassy's executor (twin-embassy/), both built here
# in this run; then bytes per lightproc header and per mailbox slot, printed by the
# `sizes` program under QEMU. Flash is text + data, static RAM is data + bss (the stack
# is what is left of RAM). Goals: Ravelin's flash at most 1.5x Embassy's; a lightproc
# header at most 32 bytes.
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TERM_COLOR=never
target=thumbv7em-none-eabihf
cargo build --quiet --release --target "$target" --bins
(cd twin-embassy && cargo build --quiet --release --target "$target")

# Prints "flash ram" of an ELF file.
measure() { size "$1" | awk 'NR == 2 { print $1 + $2, $2 + $3 }'; }

read -r exec_flash exec_ram < <(measure "target/$target/release/executor")
read -r twin_flash twin_ram < <(measure "target/$target/release/twin")
read -r emb_flash emb_ram < <(measure "twin-embassy/target/$target/release/ravelin-twin-embassy")

echo "footprint on $target (bytes)"
printf '%-44s %8s %8s\n' program flash "static RAM"
printf '%-44s %8d %8d\n' "executor (the first QEMU program)" "$exec_flash" "$exec_ram"
printf '%-44s %8d %8d\n' "twin on Ravelin" "$twin_flash" "$twin_ram"
printf '%-44s %8d %8d\n' "twin on Embassy (embassy-executor 0.9)" "$emb_flash" "$emb_ram"
ratio=$(awk -v r="$twin_flash" -v e="$emb_flash" 'BEGIN { printf "%.2f", r / e }')
verdict=$(awk -v r="$twin_flash" -v e="$emb_flash" 'BEGIN { print (r <= 1.5 * e) ? "met" : "MISSED" }')
echo "flash, Ravelin / Embassy: $ratio (goal: at most 1.50, $verdict)"

# The sizes program runs on the Cortex-M3 model; its numbers are the same on any
# 32-bit Arm target.
cargo build --quiet --release --target thumbv7m-none-eabi --bin sizes
timeout 60 qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -nographic -monitor none \
    -serial none -semihosting-config enable=on,target=native -icount shift=0,sleep=off \
    -kernel target/thumbv7m-none-eabi/release/sizes 2>/dev/null | grep -v '^#'
