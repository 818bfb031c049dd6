#!/usr/bin/env python3
"""Generate RESULTS.md from a weft_bench JSON file (google-benchmark format).

    python3 scripts/gen_results.py [--plots-dir DIR] RESULTS.json > RESULTS.md

scripts/bench runs it after every full run. Only the Python standard library
is used; plots are drawn by gnuplot (skipped, with a note, if it is missing
or --no-plots is given).

Benchmark names are "<group>/<workload>/<impl>" (chan/4x4_cap1024/weft) or
"<group>/<name>" (floor/futex_rtt), followed by google-benchmark's own
suffixes (/iterations:1/manual_time), which are dropped. Medians and spreads
are computed here from the individual repetitions in the JSON; if the file
holds only aggregates (--benchmark_report_aggregates_only), the "median"
aggregate is used and the spread is unknown.
"""
import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Workloads of the throughput table, in order, with what bounds each.
CHAN_WORKLOADS = [
    ("seq_cap1024", "one thread fills the channel, then drains it", None),
    ("1x1_cap0", "1 producer, 1 consumer, unbuffered (rendezvous)", "futex"),
    ("1x1_cap1", "1 producer, 1 consumer, capacity 1", "futex"),
    ("1x1_cap1024", "1 producer, 1 consumer, capacity 1024", "cacheline"),
    ("4x1_cap1024", "4 producers, 1 consumer", "cacheline"),
    ("4x4_cap1024", "4 producers, 4 consumers", "cacheline"),
    ("16x16_cap1024", "16 producers, 16 consumers (threads outnumber cores)", "cacheline"),
    ("1x1_cap1024_batch64", "1x1, send_many / recv_many of 64", "cacheline"),
    ("1x1_cap1024_256B", "1x1, 256-byte messages", "cacheline"),
    ("4x4_cap1024_256B", "4x4, 256-byte messages", "cacheline"),
]
IMPLS = ["weft", "mutex"]
IMPL_LABEL = {"weft": "weft", "mutex": "mutex+condvar"}


# ---- reading the JSON ---------------------------------------------------------

def base_name(run_name):
    """chan/4x4_cap1024/weft/iterations:1/manual_time -> chan/4x4_cap1024/weft"""
    parts = []
    for p in run_name.split("/"):
        if ":" in p or p in ("manual_time", "real_time", "process_time"):
            break
        parts.append(p)
    return "/".join(parts)


class Stat:
    """Repetition values of one figure of one benchmark."""

    def __init__(self, values, median=None):
        self.values = sorted(values)
        self._median = median

    @property
    def ok(self):
        return bool(self.values) or self._median is not None

    @property
    def median(self):
        if self.values:
            return statistics.median(self.values)
        return self._median

    @property
    def lo(self):
        return self.values[0] if self.values else None

    @property
    def hi(self):
        return self.values[-1] if self.values else None

    @property
    def n(self):
        return len(self.values)


MISSING = Stat([])


class Results:
    def __init__(self, data):
        self.context = data.get("context", {})
        self.runs = {}        # name -> list of iteration entries
        self.aggregates = {}  # name -> {aggregate_name: entry}
        self.errors = []
        for b in data.get("benchmarks", []):
            name = base_name(b.get("run_name", b.get("name", "")))
            if b.get("error_occurred"):
                self.errors.append((name, b.get("error_message", "")))
                continue
            if b.get("run_type") == "aggregate":
                self.aggregates.setdefault(name, {})[b.get("aggregate_name")] = b
            else:
                self.runs.setdefault(name, []).append(b)

    def stat(self, name, field):
        """Stat of a counter (or "real_time", in the file's time unit)."""
        runs = self.runs.get(name)
        if runs:
            vals = [r[field] for r in runs if field in r]
            return Stat(vals) if vals else MISSING
        agg = self.aggregates.get(name, {}).get("median")
        if agg is not None and field in agg:
            return Stat([], median=agg[field])
        return MISSING

    def repetitions(self):
        ns = [len(v) for v in self.runs.values()]
        return max(ns) if ns else 0


# ---- formatting ---------------------------------------------------------------

def si(x, unit=""):
    if x is None:
        return "—"
    ax = abs(x)
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if ax >= div:
            return "%.3g%s%s" % (x / div, suffix, unit)
    return "%.3g%s" % (x, (" " + unit) if unit else "")


def ns_time(ns):
    """A duration given in ns, in the unit that reads best."""
    if ns is None:
        return "—"
    if ns >= 1e6:
        return "%.3g ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.3g µs" % (ns / 1e3)
    return "%.3g ns" % ns


def spread(st, fmt=si):
    """min – max over repetitions, each formatted by fmt."""
    if st.n < 2:
        return "—"
    return "%s – %s" % (fmt(st.lo), fmt(st.hi))


def pct_spread(st):
    """Half the min-max range as a percentage of the median."""
    if st.n < 2 or not st.median:
        return ""
    return " (±%.0f%%)" % (50.0 * (st.hi - st.lo) / st.median)


def ratio(a, b, fmt="%.2f×"):
    if a is None or b is None or b == 0:
        return "—"
    return fmt % (a / b)


def num(x, fmt="%.3g"):
    return "—" if x is None else fmt % x


# ---- machine ------------------------------------------------------------------

def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                              cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info(ctx):
    """From the JSON's context (recorded by scripts/bench at run time), else
    from this machine now."""
    def cpu_model():
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown"

    info = [
        ("CPU", ctx.get("cpu_model") or cpu_model()),
        ("CPUs (nproc)", ctx.get("nproc") or str(ctx.get("num_cpus") or os.cpu_count())),
        ("MHz (google-benchmark's reading)", str(ctx.get("mhz_per_cpu", "—"))),
        ("kernel", ctx.get("kernel") or platform.release()),
        ("gcc", ctx.get("gcc") or run(["gcc", "-dumpfullversion"]) or "unknown"),
        ("google-benchmark", ctx.get("gbench") or
         run(["dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"]) or "unknown"),
        ("weft commit", ctx.get("git") or run(["git", "rev-parse", "--short=12", "HEAD"]) or "none"),
        ("run date", ctx.get("date", "—")),
        ("host", ctx.get("host_name", "—")),
        ("load average at start", ", ".join("%.2f" % x for x in ctx.get("load_avg", [])) or "—"),
    ]
    return info


# ---- plots --------------------------------------------------------------------

def gnuplot(script, cwd):
    """Run a gnuplot script; try pngcairo, then the libgd png terminal."""
    exe = shutil.which("gnuplot")
    if exe is None:
        return False
    for term in ("pngcairo size 1100,520 font 'sans,10'", "png size 1100,520"):
        full = "set terminal %s\n%s" % (term, script)
        p = subprocess.run([exe], input=full, capture_output=True, text=True, cwd=cwd)
        if p.returncode == 0:
            return True
    sys.stderr.write("gen_results: gnuplot failed:\n%s\n" % p.stderr)
    return False


def plot_throughput(res, plots_dir):
    rows = []
    for w, _, _ in CHAN_WORKLOADS:
        cells = []
        for impl in IMPLS:
            st = res.stat("chan/%s/%s" % (w, impl), "msgs_per_s")
            if not st.ok:
                break
            lo = st.lo if st.lo is not None else st.median
            hi = st.hi if st.hi is not None else st.median
            cells += [st.median / 1e6, lo / 1e6, hi / 1e6]
        else:
            rows.append((w, cells))
    if not rows:
        return None
    with open(os.path.join(plots_dir, "throughput.dat"), "w") as f:
        f.write("# workload weft(median lo hi) mutex(median lo hi), million msgs/s\n")
        for w, c in rows:
            f.write('"%s" %s\n' % (w.replace("_", "\\\\_"), " ".join("%.6g" % x for x in c)))
    lo = min(min(c[1], c[4]) for _, c in rows)
    ymin = 10.0 ** math.floor(math.log10(lo)) if lo > 0 else 1e-3
    script = """
set output 'throughput.png'
set title 'Channel throughput, median of repetitions (bars: min-max), higher is better'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set logscale y
set yrange [%g:*]
set ylabel 'million messages per second'
set grid ytics
set xtics rotate by -25 scale 0
set key top right
set bmargin 6
plot 'throughput.dat' using 2:3:4:xtic(1) title 'weft' lc rgb '#1f77b4', \\
     '' using 5:6:7 title 'mutex+condvar' lc rgb '#d62728'
""" % ymin
    return "throughput.png" if gnuplot(script, plots_dir) else None


def plot_ratio(res, plots_dir):
    rows = []
    for w, _, _ in CHAN_WORKLOADS:
        a = res.stat("chan/%s/weft" % w, "msgs_per_s").median
        b = res.stat("chan/%s/mutex" % w, "msgs_per_s").median
        if a and b:
            rows.append((w, a / b))
    if not rows:
        return None
    with open(os.path.join(plots_dir, "ratio.dat"), "w") as f:
        f.write("# workload weft/mutex throughput ratio\n")
        for w, r in rows:
            f.write('"%s" %.6g\n' % (w.replace("_", "\\\\_"), r))
    lo = min(r for _, r in rows)
    ymin = min(0.1, 10.0 ** math.floor(math.log10(lo))) if lo > 0 else 0.1
    script = """
set output 'ratio.png'
set title 'weft throughput as a multiple of the mutex+condvar channel (same run); 1 = parity'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [%g:*]
set ylabel 'weft / mutex (median)'
set grid ytics
set xtics rotate by -25 scale 0
set bmargin 6
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb 'black'
plot 'ratio.dat' using 2:xtic(1) notitle lc rgb '#2ca02c', \\
     '' using 0:2:(sprintf('%%.2g', $2)) with labels offset 0,0.7 notitle
""" % ymin
    return "ratio.png" if gnuplot(script, plots_dir) else None


def plot_latency(res, plots_dir):
    rows = []
    for label, name in (("weft", "latency/pingpong_cap0/weft"),
                        ("mutex+condvar", "latency/pingpong_cap0/mutex"),
                        ("futex floor", "floor/futex_rtt")):
        p50 = res.stat(name, "rtt_p50_ns").median
        p99 = res.stat(name, "rtt_p99_ns").median
        if p50 and p99:
            rows.append((label, p50 / 1e3, p99 / 1e3))
    if not rows:
        return None
    with open(os.path.join(plots_dir, "latency.dat"), "w") as f:
        f.write("# what p50_us p99_us (unbuffered ping-pong round trip)\n")
        for label, a, b in rows:
            f.write('"%s" %.6g %.6g\n' % (label, a, b))
    lo = min(r[1] for r in rows)
    ymin = 10.0 ** math.floor(math.log10(lo)) if lo > 0 else 1e-3
    script = """
set output 'latency.png'
set title 'Unbuffered ping-pong round trip, median over repetitions, lower is better'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [%g:*]
set ylabel 'microseconds'
set grid ytics
set key top left
plot 'latency.dat' using 2:xtic(1) title 'p50' lc rgb '#1f77b4', \\
     '' using 3 title 'p99' lc rgb '#ff7f0e'
""" % ymin
    return "latency.png" if gnuplot(script, plots_dir) else None


# ---- the report ---------------------------------------------------------------

def generate(res, plots_dir, plots_link, make_plots):
    out = []
    w = out.append
    ctx = res.context
    floor_cl = res.stat("floor/cacheline_rtt", "rtt_ns").median
    floor_fx = res.stat("floor/futex_rtt", "rtt_p50_ns").median
    floors = {"cacheline": floor_cl, "futex": floor_fx}

    w("<!-- generated by scripts/bench — do not edit -->")
    w("# weft benchmark results")
    w("")
    w("_Generated by `scripts/bench` (scripts/gen_results.py) from "
      "`bench/results/latest.json` — do not edit; rerun `scripts/bench`._")
    w("")
    if ctx.get("quick") == "1":
        w("> **Quick (smoke-test) run: tiny message counts, one repetition. "
          "These numbers mean nothing.**")
        w("")

    # Machine
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    for k, v in machine_info(ctx):
        w("| %s | %s |" % (k, v))
    w("| repetitions per benchmark | %d |" % res.repetitions())
    w("| messages per run | %s buffered; %s for cap 0 / cap 1; %s ping-pong round trips |" % (
        si(float(ctx.get("weft_bench_msgs", 0)) or None),
        si(float(ctx.get("weft_bench_slow_msgs", 0)) or None),
        si(float(ctx.get("weft_bench_rtt_rounds", 0)) or None)))
    if ctx.get("library_build_type") == "debug":
        w("| note | Debian's libbenchmark reports itself as a debug build; that affects "
          "only google-benchmark's own bookkeeping, not the timed regions, which "
          "the C bodies measure themselves |")
    w("")

    # How to read
    w("## How to read this")
    w("")
    w("- Every figure is the **median over repetitions** of one run each; the "
      "spread is the min – max over those repetitions (± is half that range, "
      "relative to the median). A wide spread means the machine was busy.")
    w("- **Timed region**: each run starts its threads, waits until all of them "
      "sit at a start gate, then releases them; the time runs from the first "
      "thread leaving the gate to the last thread finishing (a consumer finishes "
      "when its receive reports the channel closed and drained). Thread creation "
      "and join are never timed.")
    w("- **msgs/s** counts messages delivered end to end. **CPU s / M msgs** is the "
      "CPU time of all the benchmark's threads inside the timed region per million "
      "messages: lower means less spinning and fewer syscalls per message.")
    w("- **weft / mutex** compares weft with a mutex + condition-variable channel "
      "(`bench/baselines/mutex_chan.c`) run by the same benchmark code in the same "
      "run: above 1 is weft faster.")
    w("- **× floor** is weft's time per message as a multiple of the floor that "
      "bounds it, measured in the same run: the cache-line round trip between two "
      "threads for buffered channels (both ends running), the futex wake round trip "
      "for cap 0 / cap 1 (a message may have to wake a sleeping thread). Close to 1 "
      "means there is little left to gain; below 1 means the workload avoided that "
      "cost most of the time (batching, or both ends kept running). The futex "
      "floor depends on the machine's state: when the other CPU is busy both threads "
      "often share one CPU and a wake is a local context switch (about a µs); "
      "waking a thread on an idle CPU costs tens of µs in a VM.")
    w("- Every run also checks delivery: each message is counted and checksummed and "
      "per-producer order is verified; a lost, duplicated or reordered message fails "
      "the benchmark.")
    w("- Workloads: *PxC* = P producer and C consumer threads; *capN* = channel "
      "capacity; 8-byte messages unless the name says 256B. The machine has %s CPUs, "
      "so 16x16 runs 32 threads on them." % (ctx.get("nproc") or ctx.get("num_cpus") or "?"))
    w("")

    # Acceptance
    w("## Acceptance checks")
    w("")
    checks = []

    def thr(wl, impl):
        return res.stat("chan/%s/%s" % (wl, impl), "msgs_per_s").median

    def check(label, value, target, ok):
        if value is None:
            checks.append("- **n/a** — %s: not measured" % label)
        else:
            checks.append("- **%s** — %s: %s (needs %s)" % ("pass" if ok else "FAIL", label, value, target))

    a, b = thr("1x1_cap1024", "weft"), thr("1x1_cap1024", "mutex")
    check("1x1 cap 1024 throughput, weft / mutex", ratio(a, b) if a and b else None, "≥ 5×",
          bool(a and b and a / b >= 5))
    a, b = thr("4x4_cap1024", "weft"), thr("4x4_cap1024", "mutex")
    check("4x4 cap 1024 throughput, weft / mutex", ratio(a, b) if a and b else None, "≥ 10×",
          bool(a and b and a / b >= 10))
    a, b = thr("16x16_cap1024", "weft"), thr("4x4_cap1024", "weft")
    check("weft 16x16 throughput / weft 4x4", ratio(a, b, "%.2f") if a and b else None, "≥ 0.70",
          bool(a and b and a / b >= 0.7))
    p = res.stat("parked/100_receivers/weft", "cpu_pct_of_core").median
    check("CPU of 100 receivers parked on an empty weft channel",
          None if p is None else "%.3g %% of a core" % p, "< 1 %", p is not None and p < 1.0)
    out.extend(checks)
    w("")

    # Throughput
    w("## Channel throughput")
    w("")
    w("| workload | weft msgs/s | spread | mutex msgs/s | weft / mutex | weft × floor | "
      "CPU s / M msgs (weft) | CPU s / M msgs (mutex) |")
    w("|---|---:|---|---:|---:|---:|---:|---:|")
    for wl, desc, floor in CHAN_WORKLOADS:
        sw = res.stat("chan/%s/weft" % wl, "msgs_per_s")
        sm = res.stat("chan/%s/mutex" % wl, "msgs_per_s")
        if not sw.ok and not sm.ok:
            continue
        nsw = res.stat("chan/%s/weft" % wl, "ns_per_msg").median
        fl = floors.get(floor) if floor else None
        xf = "%.2f× %s" % (nsw / fl, floor) if nsw and fl else "—"
        cw = res.stat("chan/%s/weft" % wl, "cpu_s_per_Mmsg").median
        cm = res.stat("chan/%s/mutex" % wl, "cpu_s_per_Mmsg").median
        w("| `%s` <br><sub>%s</sub> | **%s**%s | %s | %s%s | **%s** | %s | %s | %s |" % (
            wl, desc, si(sw.median), pct_spread(sw), spread(sw), si(sm.median),
            pct_spread(sm), ratio(sw.median, sm.median), xf, num(cw), num(cm)))
    w("")

    # Latency
    w("## Unbuffered ping-pong latency")
    w("")
    w("Two threads, two unbuffered channels: send ping, receive pong; the pinger "
      "timestamps every round trip (two rendezvous). Median and p99 of the round "
      "trips of each run, then the median of those over repetitions.")
    w("")
    w("| | p50 round trip | p99 round trip | mean | p50 × futex floor |")
    w("|---|---:|---:|---:|---:|")
    for impl in IMPLS:
        name = "latency/pingpong_cap0/%s" % impl
        p50 = res.stat(name, "rtt_p50_ns")
        if not p50.ok:
            continue
        p99 = res.stat(name, "rtt_p99_ns").median
        mean = res.stat(name, "rtt_mean_ns").median
        w("| %s | %s%s | %s | %s | %s |" % (IMPL_LABEL[impl], ns_time(p50.median), pct_spread(p50),
                                           ns_time(p99), ns_time(mean), ratio(p50.median, floor_fx)))
    w("")

    # Floor
    w("## The floor (same run)")
    w("")
    w("| what | figure | spread |")
    w("|---|---:|---|")
    st = res.stat("floor/cacheline_rtt", "rtt_ns")
    if st.ok:
        w("| cache-line round trip between two spinning threads (median of 64-trip blocks) | %s | %s |"
          % (ns_time(st.median), spread(st, ns_time)))
    st = res.stat("floor/futex_rtt", "rtt_p50_ns")
    if st.ok:
        p99 = res.stat("floor/futex_rtt", "rtt_p99_ns").median
        w("| futex wake round trip: each side waits in FUTEX_WAIT until the other wakes it (p50 / p99) | %s / %s | %s |"
          % (ns_time(st.median), ns_time(p99), spread(st, ns_time)))
    st = res.stat("floor/memcpy_64MiB", "GBps")
    if st.ok:
        w("| memcpy bandwidth, 64 MiB buffers | %.3g GB/s | %s |" % (st.median, spread(st, lambda x: "%.3g GB/s" % x)))
    st = res.stat("floor/memcpy_256B", "ns_per_copy")
    if st.ok:
        w("| one 256-byte memcpy, in cache | %s | %s |" % (ns_time(st.median), spread(st, ns_time)))
    w("")

    # Parked
    w("## Parked receivers")
    w("")
    w("100 threads blocked in receive on an empty channel (cap 1024); process CPU "
      "time over %s ms after they settled, as a share of one core." % ctx.get("weft_bench_park_ms", "?"))
    w("")
    w("| | CPU, % of one core | spread |")
    w("|---|---:|---|")
    for impl in IMPLS:
        st = res.stat("parked/100_receivers/%s" % impl, "cpu_pct_of_core")
        if st.ok:
            sp = "%.3g – %.3g" % (st.lo, st.hi) if st.n >= 2 else "—"
            w("| %s | %.3g %% | %s |" % (IMPL_LABEL[impl], st.median, sp))
    w("")

    # Plots
    if make_plots:
        os.makedirs(plots_dir, exist_ok=True)
        pics = [plot_throughput(res, plots_dir), plot_ratio(res, plots_dir),
                plot_latency(res, plots_dir)]
        pics = [p for p in pics if p]
        w("## Plots")
        w("")
        if pics:
            for p in pics:
                w("![%s](%s)" % (p[:-4], os.path.join(plots_link, p)))
                w("")
        else:
            w("_No plots: gnuplot is not installed or failed._")
            w("")

    if res.errors:
        w("## Errors")
        w("")
        for name, msg in res.errors:
            w("- `%s`: %s" % (name, msg))
        w("")
    w("_Raw data: every repetition of every benchmark is in the JSON under "
      "`bench/results/` (google-benchmark format)._")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="weft_bench --benchmark_out JSON file")
    ap.add_argument("--plots-dir", default=os.path.join(ROOT, "bench", "results", "plots"),
                    help="where the PNG plots go (default bench/results/plots)")
    ap.add_argument("--no-plots", action="store_true", help="do not run gnuplot")
    args = ap.parse_args()
    with open(args.json) as f:
        res = Results(json.load(f))
    plots_dir = os.path.abspath(args.plots_dir)
    # Links in RESULTS.md are relative to the repository root, where it lives.
    link = os.path.relpath(plots_dir, ROOT)
    if link.startswith(".."):
        link = plots_dir
    sys.stdout.write(generate(res, plots_dir, link, not args.no_plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
