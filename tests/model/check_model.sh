#!/bin/sh
# tests/model/check_model.sh [--expect-error] MODEL.pml [CPP-DEFINE...] —
# generate, build and run SPIN's exhaustive safety verifier for MODEL, once
# per define given ("" = the model's defaults). Exit 0 if every run reports
# no error (with --expect-error: if every run reports one), 1 otherwise (the
# verifier's report and any trail are printed), 2 if spin or the compiler
# fails, 77 (ctest: skipped) without spin or a C compiler.
set -eu
expect=0
if [ "${1:-}" = --expect-error ]; then expect=1; shift; fi
model=$1; shift
command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "no C compiler: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/model.pml"
cd "$work"
[ $# -gt 0 ] || set -- ""
for def in "$@"; do
    echo "== spin ${def:-(defaults)}"
    spin ${def:+"$def"} -a model.pml >spin.log 2>&1 || { cat spin.log; exit 2; }
    # Exhaustive search for assertion violations and invalid end states;
    # COLLAPSE compresses the stored states.
    "$cc" -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c >cc.log 2>&1 || { cat cc.log; exit 2; }
    ./pan -m1000000 -w24 >pan.log 2>&1 || true
    grep -E "errors:|states, stored|elapsed|violated|invalid end state \(" pan.log || true
    grep -q "errors: " pan.log || { cat pan.log; exit 2; }
    if grep -q "errors: 0" pan.log; then found=0; else found=1; fi
    if [ "$found" != "$expect" ]; then
        [ "$found" = 1 ] && spin -t -p ${def:+"$def"} model.pml | tail -60
        echo "check_model: $( [ "$expect" = 1 ] && echo "expected an error, found none" || echo "error found" )"
        exit 1
    fi
done
