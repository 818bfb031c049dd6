#!/bin/sh
# tests/model/check_model.sh MODEL.pml [CPP-DEFINE...] — generate, build and
# run SPIN's exhaustive safety verifier for MODEL, once per define given (none:
# once with the model's defaults). Exit 0 if every run reports no error, 1 if
# one does (its trail is printed), 77 (ctest: skipped) without spin or cc.
set -eu
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
    spin ${def:+"$def"} -a model.pml >spin.log 2>&1 || { cat spin.log; exit 1; }
    # Exhaustive search for assertion violations and invalid end states;
    # COLLAPSE compresses the stored states.
    "$cc" -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c
    ./pan -m1000000 -w24 >pan.log 2>&1 || true
    grep -E "errors:|states, stored|elapsed" pan.log
    if ! grep -q "errors: 0" pan.log; then
        cat pan.log
        spin -t -p ${def:+"$def"} model.pml | tail -60
        exit 1
    fi
done
