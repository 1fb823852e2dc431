#!/bin/bash
# The training step's elementwise kernels (src/engine/kernels.c) are
# compiled once per instruction set (target_clones); each clone above the
# baseline must be vector code. A loop that falls back to scalar code is
# a slow path that no result shows: GCC kept the ReLU selects as a scalar
# branch per element on AVX2 until kernels.o got -fno-trapping-math, and a
# third of a tiny sweep's time went there. This reads the compiled code,
# not the clock.
. "$(dirname "$0")/lib.sh"

obj="$RESWEEP_BUILD/obj/src/engine/kernels.o"
case "$RESWEEP_BUILD" in
    *-address|*-thread)
        ok "# SKIP sanitizer instrumentation keeps loops scalar"; exit 0 ;;
esac
if [ "$(uname -m)" != x86_64 ]; then
    ok "# SKIP the clones are x86-64 only"; exit 0
fi
if ! command -v objdump >/dev/null; then
    not_ok "objdump (binutils) is installed"; exit 1
fi
# function name, then how many of its instructions use ymm/zmm registers
counts=$(objdump -d "$obj" | awk '
    /^[0-9a-f]+ <[^>]*>:$/ { name = substr($2, 2, length($2) - 3); vec[name] += 0; next }
    /%[yz]mm/ { vec[name]++ }
    END { for (n in vec) print n, vec[n] }' | sort)
clones=$(printf '%s\n' "$counts" | grep -c '\.arch_x86_64_v[34] ')
[ "$clones" -ge 20 ] && ok "kernels.o has its AVX2 and AVX-512 clones ($clones)" ||
    not_ok "kernels.o has its AVX2 and AVX-512 clones" "$counts"
while read -r fn n; do
    case "$fn" in *.arch_x86_64_v3|*.arch_x86_64_v4) ;; *) continue ;; esac
    [ "$n" -gt 0 ] && ok "$fn is vector code ($n vector instructions)" ||
        not_ok "$fn is vector code" "no instruction uses a ymm or zmm register"
done <<<"$counts"
