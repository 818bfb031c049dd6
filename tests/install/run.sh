#!/usr/bin/env bash
# tests/install/run.sh [SOURCE_DIR] — the install contract, end to end.
#
#  1. configure (with a prefix that is never used), build (Release, no tests)
#     and `cmake --install --prefix` SOURCE_DIR into a temporary prefix;
#  2. check the installed layout (headers, libweft.so with its SONAME links,
#     libweft.a, weft.pc, cmake/weft/) and that no installed text file names
#     the build or install directories;
#  3. MOVE the prefix elsewhere: everything below uses only the moved copy,
#     so it proves both package files are relocatable;
#  4. build consumer.c with `pkg-config --cflags --libs weft` (shared, run
#     with LD_LIBRARY_PATH), with `pkg-config --static` against libweft.a
#     (ldd must not list libweft), fully -static when libc.a is there, and
#     with find_package(weft) (weft::weft and weft::weft_static); run each,
#     expecting "consumer ok".
#  5. again with a multiarch libdir (-DCMAKE_INSTALL_LIBDIR=lib/<triplet>, as
#     GNUInstallDirs picks for a /usr prefix on Debian): weft.pc must then
#     climb three levels to the prefix, not two.
#
# Registered as the ctest `install_consumer`. The work directory is a fresh
# mktemp -d, removed on success and kept (its path printed) on failure.
# Env: CC (default cc), WEFT_JOBS (default 2), WEFT_KEEP_WORK=1 keeps it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${1:-$here/../..}" && pwd)
CC=${CC:-cc}
jobs=${WEFT_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-install.XXXXXX")

finish() {
    local rc=$?
    if [ $rc -eq 0 ] && [ "${WEFT_KEEP_WORK:-0}" != 1 ]; then
        rm -rf "$work"
    else
        echo "install_consumer: work directory kept: $work"
    fi
    exit $rc
}
trap finish EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'install_consumer: FAIL: %s\n' "$*" >&2; exit 1; }
# Run a command quietly; on failure show its output.
quiet() {
    local log=$work/last.log
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "command failed: $*"
    fi
}
run_consumer() { # NAME [ENV...] BINARY
    local name=$1; shift
    local out
    out=$(env "$@" 2>&1) || { printf '%s\n' "$out" >&2; fail "$name exited non-zero"; }
    printf '%s\n' "$out"
    grep -qx 'consumer ok' <<<"$out" || fail "$name did not print 'consumer ok'"
    echo "$name: consumer ok"
}

version=$(sed -n 's/^ *VERSION \([0-9][0-9.]*\)$/\1/p' "$src/CMakeLists.txt" | head -n 1)
[ -n "$version" ] || fail "cannot read the project VERSION from $src/CMakeLists.txt"
major=${version%%.*}

# check_install VARIANT [LIBDIR]: steps 1-4 with CMAKE_INSTALL_LIBDIR=LIBDIR
# (default: GNUInstallDirs' choice for a non-/usr prefix).
check_install() {
    local variant=$1 libdir_arg=${2:-}
    # ---- 1. build and install
    step "[$variant] build and install $src ($version) with $CC, libdir ${libdir_arg:-default}"
    stage=$work/stage/prefix
    rm -rf "$work/stage" "$work/moved" "$work/consumer-build"
    quiet cmake -S "$src" -B "$work/build" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_INSTALL_PREFIX=/nonexistent/weft-configured-prefix \
        ${libdir_arg:+-DCMAKE_INSTALL_LIBDIR="$libdir_arg"} \
        -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCH=OFF -DWEFT_SANITIZE=
    quiet cmake --build "$work/build" -j "$jobs"
    quiet cmake --install "$work/build" --prefix "$stage"
    (cd "$stage" && find . \( -type f -o -type l \) | sort | sed 's/^\.\//  /')

    # ---- 2. layout
    step "[$variant] installed layout"
    [ -f "$stage/include/weft.h" ] || fail "include/weft.h not installed"
    for h in "$src"/include/weft/*.h; do
        [ -f "$stage/include/weft/$(basename "$h")" ] || fail "include/weft/$(basename "$h") not installed"
    done
    extra=$(cd "$stage/include" && find . -type f ! -name '*.h' | head -n 5)
    [ -z "$extra" ] || fail "non-header files installed under include/: $extra"
    pc=$(find "$stage" -path '*/pkgconfig/weft.pc' | head -n 1)
    [ -n "$pc" ] || fail "weft.pc not installed"
    libdir=$(dirname "$(dirname "$pc")")
    libdir_rel=${libdir#"$stage"/}
    case $libdir_rel in lib|lib64|lib/*) ;; *) fail "unexpected libdir $libdir_rel" ;; esac
    if [ -n "$libdir_arg" ] && [ "$libdir_rel" != "$libdir_arg" ]; then
        fail "libdir is $libdir_rel, want $libdir_arg"
    fi
    for f in libweft.a "libweft.so" "libweft.so.$major" "libweft.so.$version" \
             cmake/weft/weftConfig.cmake cmake/weft/weftConfigVersion.cmake cmake/weft/weftTargets.cmake; do
        [ -e "$libdir/$f" ] || fail "$libdir_rel/$f not installed"
    done
    [ -L "$libdir/libweft.so" ] || fail "libweft.so is not a symlink (namelink)"
    soname=$(readelf -d "$libdir/libweft.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "libweft.so.$major" ] || fail "SONAME is '$soname', want libweft.so.$major"
    if readelf -d "$libdir/libweft.so.$version" | grep -Eq '\((RPATH|RUNPATH)\)'; then
        fail "installed libweft.so carries an RPATH/RUNPATH"
    fi
    # No installed text file may remember where it was built or installed.
    leaks=$(grep -rIl -e "$work" -e "$src" -e /nonexistent/weft-configured-prefix "$stage" || true)
    [ -z "$leaks" ] || fail "installed files name the build/install directories: $leaks"
    echo "layout ok: libdir=$libdir_rel, SONAME $soname"

    # ---- 3. move the prefix
    step "[$variant] move the prefix"
    prefix=$work/moved/somewhere/else
    mkdir -p "$(dirname "$prefix")"
    mv "$stage" "$prefix"
    rm -rf "$work/stage"
    mv "$work/build" "$work/build.away" # nothing may still point there
    libdir=$prefix/$libdir_rel
    echo "prefix is now $prefix"

    mkdir -p "$work/$variant"
    cd "$work/$variant"

    # ---- 4a. pkg-config, shared
    step "[$variant] pkg-config, shared"
    export PKG_CONFIG_PATH=$libdir/pkgconfig
    unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR || true
    got=$(pkg-config --modversion weft) || fail "pkg-config cannot find weft"
    [ "$got" = "$version" ] || fail "pkg-config --modversion says $got, want $version"
    pc_cflags=$(pkg-config --cflags weft)
    pc_libs=$(pkg-config --libs weft)
    pc_static=$(pkg-config --static --libs weft)
    echo "cflags: $pc_cflags"
    echo "libs: $pc_libs"
    echo "static libs: $pc_static"
    [ "$(pkg-config --variable=libdir weft)" -ef "$libdir" ] || fail "pkg-config libdir does not resolve to $libdir"
    [ "$(pkg-config --variable=includedir weft)" -ef "$prefix/include" ] || fail "pkg-config includedir does not resolve to $prefix/include"
    # shellcheck disable=SC2086 # word splitting of pkg-config output is intended
    quiet "$CC" "${cflags[@]}" "$here/consumer.c" -o consumer_pc_shared $pc_cflags $pc_libs -pthread
    ldd_out=$(LD_LIBRARY_PATH=$libdir ldd ./consumer_pc_shared)
    grep -q "libweft.so.$major => $libdir/" <<<"$ldd_out" || { echo "$ldd_out"; fail "consumer_pc_shared does not load libweft from $libdir"; }
    run_consumer consumer_pc_shared LD_LIBRARY_PATH="$libdir" ./consumer_pc_shared

    # ---- 4b. pkg-config --static, against libweft.a
    step "[$variant] pkg-config --static, libweft.a"
    # -Bstatic makes -lweft pick libweft.a over libweft.so; libc stays shared.
    # shellcheck disable=SC2086
    quiet "$CC" "${cflags[@]}" "$here/consumer.c" -o consumer_pc_static $pc_cflags \
        -Wl,-Bstatic $pc_static -Wl,-Bdynamic
    if ldd ./consumer_pc_static | grep -q libweft; then
        ldd ./consumer_pc_static
        fail "consumer_pc_static needs libweft.so"
    fi
    run_consumer consumer_pc_static -u LD_LIBRARY_PATH ./consumer_pc_static

    libc_a=$("$CC" -print-file-name=libc.a)
    if [ "${libc_a#/}" != "$libc_a" ] && [ -f "$libc_a" ]; then
        # Fully static: only Libs + Libs.private, nothing from the dynamic loader.
        # shellcheck disable=SC2086
        quiet "$CC" "${cflags[@]}" -static "$here/consumer.c" -o consumer_pc_fullstatic $pc_cflags $pc_static
        if ldd ./consumer_pc_fullstatic >/dev/null 2>&1 && ldd ./consumer_pc_fullstatic | grep -q '=>'; then
            fail "consumer_pc_fullstatic is dynamically linked"
        fi
        run_consumer consumer_pc_fullstatic -u LD_LIBRARY_PATH ./consumer_pc_fullstatic
    else
        echo "(no libc.a: fully static link skipped)"
    fi

    # ---- 4c. find_package(weft)
    step "[$variant] find_package(weft CONFIG)"
    quiet cmake -S "$here" -B "$work/consumer-build" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$prefix"
    grep -o "found weft .*" "$work/last.log" || true
    quiet cmake --build "$work/consumer-build" -j "$jobs"
    # CMake gives the build-tree binary a RUNPATH to the imported libweft.so.
    ldd_out=$(ldd "$work/consumer-build/consumer")
    grep -q "libweft.so.$major => $libdir/" <<<"$ldd_out" || { echo "$ldd_out"; fail "consumer (weft::weft) does not load libweft from $libdir"; }
    run_consumer "consumer (weft::weft)" -u LD_LIBRARY_PATH "$work/consumer-build/consumer"
    if ldd "$work/consumer-build/consumer_static" | grep -q libweft; then
        fail "consumer_static (weft::weft_static) needs libweft.so"
    fi
    run_consumer "consumer_static (weft::weft_static)" -u LD_LIBRARY_PATH "$work/consumer-build/consumer_static"

    mv "$work/build.away" "$work/build"
}

cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -O2)
check_install default
check_install multiarch "lib/$("$CC" -dumpmachine)"

echo
echo "install_consumer: ok"
