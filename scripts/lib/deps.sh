# shellcheck shell=bash
# scripts/lib/deps.sh — install what weft's scripts need, only if missing.
#
# Sourced by scripts/test and scripts/bench:
#
#   . "$(dirname "$0")/lib/deps.sh"
#   weft_ensure_deps                  # the default list, WEFT_DEPS
#   weft_ensure_deps gnuplot-nox ...  # or just these Debian packages
#
# A package counts as present when dpkg has it installed or, for the tools in
# WEFT_DEP_COMMANDS, when its command is already on PATH (a cmake or python3
# installed some other way is fine). Missing packages are installed with
# apt-get (noninteractive, no recommends); `apt-get update` runs only when
# something is missing. Root runs apt-get directly, others through sudo.
# Set WEFT_NO_INSTALL=1 to only report what is missing.

# What a build, the tests and the benchmark peers need on Debian 12:
# compilers and build tools, Google Benchmark, python3 + gnuplot (reports),
# liburcu and Concurrency Kit (queues benchmarked against weft's), spin (the
# model check of tests/model/; its test is skipped without it). The Go
# peer's golang-go is not in this list: scripts/bench asks for it separately
# and skips the Go peer if it cannot be installed.
WEFT_DEPS=(cmake gcc g++ make pkg-config libbenchmark-dev python3 gnuplot-nox liburcu-dev libck-dev spin)

# Package -> a command that proves it is there without dpkg.
declare -gA WEFT_DEP_COMMANDS=(
    [cmake]=cmake [gcc]=gcc [g++]=g++ [make]=make [pkg-config]=pkg-config
    [python3]=python3 [gnuplot-nox]=gnuplot [golang-go]=go [spin]=spin
)

weft_dep_present() {
    local pkg=$1 cmd
    if command -v dpkg-query >/dev/null 2>&1 &&
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        return 0
    fi
    cmd=${WEFT_DEP_COMMANDS[$pkg]:-}
    [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1
}

weft_ensure_deps() {
    local pkgs=("$@") missing=() p sudo=()
    [ ${#pkgs[@]} -gt 0 ] || pkgs=("${WEFT_DEPS[@]}")
    for p in "${pkgs[@]}"; do
        weft_dep_present "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0

    echo "weft: missing packages: ${missing[*]}" >&2
    if [ "${WEFT_NO_INSTALL:-0}" = 1 ]; then
        echo "weft: WEFT_NO_INSTALL=1, not installing them" >&2
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "weft: no apt-get here; install these (or their equivalents) by hand: ${missing[*]}" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "weft: not root and no sudo; install by hand: ${missing[*]}" >&2
            return 1
        fi
    fi
    echo "weft: apt-get update && apt-get install ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || {
        echo "weft: apt-get update failed" >&2
        return 1
    }
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >&2 || {
        echo "weft: apt-get install failed: ${missing[*]}" >&2
        return 1
    }
    for p in "${missing[@]}"; do
        weft_dep_present "$p" || { echo "weft: $p still missing after install" >&2; return 1; }
    done
}
