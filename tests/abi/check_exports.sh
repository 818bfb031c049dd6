#!/usr/bin/env bash
# check_exports.sh LIBWEFT_SO LIBWEFT_A
#
# API.md: "Only weft_/WEFT_ names are exported from the library (symbol
# visibility hidden by default)." Checks that
#   - libweft.so exports (dynamic symbol table, defined) only weft_ names, and
#     has SONAME libweft.so.<major>;
#   - libweft.a defines only weft_ global symbols, so a static link cannot
#     collide with a program's own names (internal helpers are static, or
#     hidden and named weft_*).
set -euo pipefail

so=${1:?usage: check_exports.sh LIBWEFT_SO LIBWEFT_A}
ar=${2:?usage: check_exports.sh LIBWEFT_SO LIBWEFT_A}
status=0

# Linker-provided symbols that may appear in a shared object's table.
linker_syms='^(_init|_fini|_edata|_end|__bss_start)$'

exported=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort -u)
bad=$(grep -Ev '^weft_' <<<"$exported" | grep -Ev "$linker_syms" || true)
if [ -n "$bad" ]; then
    echo "libweft.so exports names outside weft_:"
    sed 's/^/  /' <<<"$bad"
    status=1
fi
if ! grep -q '^weft_chan_new$' <<<"$exported"; then
    echo "libweft.so does not export weft_chan_new"
    status=1
fi
echo "libweft.so: $(grep -c . <<<"$exported") exported symbols"

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $soname in
    libweft.so.[0-9]*) echo "libweft.so: SONAME $soname" ;;
    *) echo "libweft.so: unexpected SONAME '$soname'"; status=1 ;;
esac

# Global defined symbols of every object in the archive (T, D, B, R, ...).
globals=$(nm -g --defined-only "$ar" | awk 'NF >= 3 {print $3}' | sort -u)
bad=$(grep -Ev '^weft_' <<<"$globals" || true)
if [ -n "$bad" ]; then
    echo "libweft.a defines global names outside weft_ (make them static or prefix them):"
    sed 's/^/  /' <<<"$bad"
    status=1
fi

[ $status -eq 0 ] && echo "exported_symbols: ok"
exit $status
