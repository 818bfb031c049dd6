#!/usr/bin/env python3
"""Generate RESULTS.md from a weft_bench JSON file (google-benchmark format).

    python3 scripts/gen_results.py [--plots-dir DIR] [--go GO.json] RESULTS.json > RESULTS.md

--go merges the Go peer's JSON (bench/go/, written by scripts/bench as
bench/results/<stamp>-go.json; records named like weft_bench's, e.g.
chan/4x4_cap1024/go), or notes that scripts/bench skipped it.

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

# Peers: the same workloads on other libraries' queues, "<group>/<workload>/<peer>".
# ck and urcu run inside weft_bench (bench/peers/); Go's records come from
# the Go peer's JSON (bench/go/), merged with --go.
PEERS = ["ck", "urcu", "go"]
PEER_LABEL = {"ck": "ck_ring + ck_ec", "urcu": "liburcu wfcqueue", "go": "Go channels"}
# Latency / parked rows: what each peer's channel is in ping-pong.
PEER_ROW_LABEL = {"ck": "ck_ring + ck_ec (1-slot ring)", "urcu": "liburcu wfcqueue (unbounded)",
                  "go": "Go channels (unbuffered, GOMAXPROCS = CPUs)"}
# The criteria against Go: ≥ 1.5× on every buffered workload (the
# batch workload is not judged: Go has no batch operation, its figure is
# single sends / receives in a loop), ≥ 1× on unbuffered 1x1.
GO_BUFFERED = ["seq_cap1024", "1x1_cap1", "1x1_cap1024", "4x1_cap1024", "4x4_cap1024",
               "16x16_cap1024", "1x1_cap1024_256B", "4x4_cap1024_256B"]
# Who parks and who spins (what the code does; the parked-receiver and
# CPU-per-message figures are the measured side of it).
PARK_SPIN = [
    ("weft", "adaptive: spins on the ring while a per-call-site spin budget allows "
             "(learned from whether spinning paid), then parks on a futex; a sender that "
             "finds a ring of more than 16 slots full first naps once (the kernel's "
             "shortest timed sleep, ~70 µs here) so that its receivers need not wake it, "
             "unless its naps have been outlasting the receivers' work; a ring slot "
             "stall is bounded (~4 µs of pause rounds)."),
    ("mutex+condvar", "parks: pthread mutex + condition variable (futex); glibc's default "
                      "mutex does not spin."),
    ("ck_ring + ck_ec", "waiting for data or room: ck_ec_wait spins (100 pause iterations, "
                        "sets the waiter flag, 100 more), then parks on a futex with "
                        "exponential-backoff timeouts (2 ms, 16 ms, 128 ms, then forever after "
                        "1 s); a wake wakes every waiter of the counter. **Producers spin "
                        "without bound** inside ck_ring_enqueue_mpmc waiting for every earlier "
                        "producer to publish its slot (no yield, no park): with more producers "
                        "than CPUs that convoys, so those workloads are n/a unless "
                        "WEFT_BENCH_PEER_OVERSUB=1."),
    ("liburcu wfcqueue", "senders never wait (unbounded queue). Receivers spin 100 cpu_relax "
                         "iterations, then park on a futex (waiter count + sequence word, ours: "
                         "wfcqueue has no blocking); the dequeue lock is a pthread mutex (parks); "
                         "a dequeuer that meets a half-linked enqueue busy-waits 10 cpu_relax, "
                         "then sleeps in poll(10 ms) (urcu's adaptive wait)."),
    ("Go channels", "park: a blocked goroutine is descheduled by Go's scheduler (gopark) "
                    "and a handoff to a goroutine on the same P is a user-space switch; an "
                    "idle M (OS thread) spins briefly looking for work, then sleeps on a "
                    "futex."),
]

# Select workloads (bench/select_bench.c): weft and the mutex baseline's
# select, and Go's select as "select/<workload>/go" when the Go peer's
# results are merged into the JSON (its columns show "—" otherwise).
SELECT_WORKLOADS = [
    ("4to1_cap1024", "1 consumer selecting RECV over 4 buffered channels, "
                     "each fed by its own producer"),
    ("4x4_cap1024", "4 threads selecting SEND over 4 channels, 4 selecting RECV "
                    "over the same 4"),
]

# Sync workloads (bench/sync_bench.c): (workload, what one op is,
# [(impl, label), ...]); impls whose name starts with "weft" are weft's (the
# first is the reference), the others are baselines, each shown with "weft
# is N× faster" (baseline ns / the first weft impl's ns).
SYNC_WORKLOADS = [
    ("once_done", "one call on a completed once (one thread)",
     [("weft", "weft_once_do"), ("acquire_load", "acquire load of a flag (inline)"),
      ("acquire_load_call", "acquire load in a non-inlined function"),
      ("pthread_once", "pthread_once")]),
    ("wg_add_done", "add(1) + done() on an uncontended waitgroup (one thread)",
     [("weft", "weft_wg_add + weft_wg_done"),
      ("two_atomics", "two atomic RMWs on one word (fetch_add, fetch_sub)"),
      ("mutex", "mutex + condvar waitgroup")]),
    ("spawn", "start one task and wait for it, one at a time",
     [("weft_wg", "weft_wg_go + weft_wg_wait"),
      ("weft_chan", "weft_go + receive of its result (unbuffered channel)"),
      ("pthread", "pthread_create + pthread_join")]),
    ("fanin64", "start 64 tasks, wait for all 64 (one round)",
     [("weft", "64 weft_wg_go + weft_wg_wait"),
      ("pthread", "64 pthread_create + 64 pthread_join"),
      ("pthread_mutex_wg", "64 detached pthread_create + mutex waitgroup")]),
    ("sem_4t_size2", "acquire + release of 1 unit, 4 threads, size 2",
     [("weft", "weft_sem"), ("posix", "POSIX sem_t")]),
    ("timer_new_stop", "weft_timer_new + stop + free, the only timer (1 s)",
     [("weft", "weft_timer")]),
    ("timer_new_stop_10k", "the same among 10 000 pending timers (no timer-thread wake)",
     [("weft", "weft_timer")]),
    ("after_func0", "weft_after_func(0, fn) until fn ran on a pool task (pipelined)",
     [("weft", "weft_after_func")]),
]
CANCEL_WAITERS = [1, 100, 1000]

# Waiter protocol candidates (bench/protocol_bench.c): "protocol/<workload>/<candidate>"
# for the wake round trip with both threads on 1 or 2 CPUs (rtt_<C>cpu_n<N>)
# and register + cancel (arm_cancel_n<N>) over N sources, and the 16-waiter
# herd on one source (herd16).
PROTO_N = [1, 4, 16]
PROTO_CPUS = [(1, "1 CPU"), (2, "2 CPUs")]
PROTO_CANDIDATES = [
    ("claim_parker", "claim + parker (weft)"),
    ("futex_waitv", "futex_waitv"),
    ("mutex_condvar", "mutex + condvar"),
]
PROTO_HERD = [
    ("claim_parker", "claim + parker (weft): wakes the first queued waiter"),
    ("futex_waitv_wake1", "futex_waitv, FUTEX_WAKE(1)"),
    ("futex_waitv_wakeall", "futex_waitv, FUTEX_WAKE(INT_MAX)"),
    ("mutex_condvar", "mutex + condvar: signals the first queued waiter"),
]

# Memory (bench/mem_bench.c): heap bytes per object, mallinfo2() around
# creating 1000 of them: (benchmark, what).
MEM_OBJECTS = [
    ("mem/chan_cap0/weft", "weft channel, unbuffered: `weft_chan_new(8, 0)`"),
    ("mem/chan_cap1024/weft", "weft channel, 1024 × 8 bytes: `weft_chan_new(8, 1024)`"),
    ("mem/chan_cap0/mutex", "mutex+condvar baseline channel, unbuffered"),
    ("mem/chan_cap1024/mutex", "mutex+condvar baseline channel, 1024 × 8 bytes"),
    ("mem/ctx_cancel/weft", "context: `weft_ctx_with_cancel(NULL)`"),
    ("mem/ctx_timeout/weft", "context with a deadline: `weft_ctx_with_timeout(NULL, 1 h)`"),
    ("mem/ctx_done/weft", "its done channel, once created: `weft_ctx_done(ctx)`"),
    ("mem/timer/weft", "timer: `weft_timer_new(1 h)` (the timer service started before)"),
]
# Throughput against thread count (chan_bench.c SCALE_WORKLOADS): P producers
# and P consumers, capacity 1024.
SCALE_P = [1, 2, 4, 8, 16]


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


def plot_scale(res, plots_dir):
    rows = []
    for p in SCALE_P:
        a = res.stat("scale/%dx%d_cap1024/weft" % (p, p), "msgs_per_s").median
        b = res.stat("scale/%dx%d_cap1024/mutex" % (p, p), "msgs_per_s").median
        if a or b:
            rows.append((2 * p, a, b))
    if not rows:
        return None
    with open(os.path.join(plots_dir, "scale.dat"), "w") as f:
        f.write("# threads weft_msgs_per_s mutex_msgs_per_s (median; NaN: not run)\n")
        for t, a, b in rows:
            f.write("%d %s %s\n" % (t, "%.6g" % (a / 1e6) if a else "NaN",
                                     "%.6g" % (b / 1e6) if b else "NaN"))
    script = """
set output 'scale.png'
set title 'Throughput against thread count: P producers + P consumers, capacity 1024, median of repetitions'
set logscale x 2
set xrange [1.5:48]
set xtics (2, 4, 8, 16, 32)
set logscale y
set xlabel 'threads (producers + consumers)'
set ylabel 'million messages per second'
set grid xtics ytics
set key top right
plot 'scale.dat' using 1:2 title 'weft' with linespoints lw 2 pt 7 lc rgb '#1f77b4', \\
     '' using 1:3 title 'mutex+condvar' with linespoints lw 2 pt 5 lc rgb '#d62728'
"""
    return "scale.png" if gnuplot(script, plots_dir) else None


def memory_section(res, plots_dir, plots_link, make_plots):
    """The Memory section (bytes per object, peak RSS per workload) and the
    throughput-against-threads table and plot. Older JSON files without
    these entries print "not measured in this run"."""
    out = []
    w = out.append
    w("## Memory")
    w("")
    w("### Heap bytes per object")
    w("")
    if not any(res.stat(name, "bytes_per_object").ok for name, _ in MEM_OBJECTS):
        w("_Not measured in this run._")
    else:
        w("glibc's `mallinfo2()` (heap in use: `uordblks` + `hblkhd`) before and after "
          "creating 1000 objects on one thread, divided by 1000 (`bench/mem_bench.c`); "
          "malloc's chunk overhead included. One object of the kind is made first, "
          "outside the measurement, so one-time costs (the timer service's thread) are "
          "not counted. Deterministic: one repetition.")
        w("")
        w("| object | bytes per object |")
        w("|---|---:|")
        for name, desc in MEM_OBJECTS:
            st = res.stat(name, "bytes_per_object")
            w("| %s | %s |" % (desc, "%.0f" % st.median if st.ok else "not measured in this run"))
        w("| blocked waiter (a thread blocked in send, receive or select) | 0: its "
          "waiter records (`weft_waiter`, one `weft_wnode` per operation) are on the "
          "waiting thread's stack, no allocation (not measured) |")
    w("")
    w("### Peak RSS per channel workload")
    w("")
    names = ["chan/%s/%s" % (wl, impl) for wl, _, _ in CHAN_WORKLOADS for impl in IMPLS]
    names += ["latency/pingpong_cap0/%s" % impl for impl in IMPLS]
    if not any(res.stat(n, "peak_rss_kib").ok for n in names):
        w("_Not measured in this run._")
    else:
        reset = all(res.stat(n, "peak_rss_reset").median != 0 for n in names
                    if res.stat(n, "peak_rss_reset").ok)
        if reset:
            w("VmHWM (`/proc/self/status`) after each run, reset by writing 5 to "
              "`/proc/self/clear_refs` just before the channel is made: the whole "
              "weft_bench process (google-benchmark, the harness, worker stacks) at "
              "its peak during the workload; median over repetitions.")
        else:
            w("VmHWM (`/proc/self/status`) after each run; **resetting it through "
              "`/proc/self/clear_refs` failed here, so these are the process's peak "
              "RSS so far**, not per workload; median over repetitions.")
        w("")
        w("| workload | weft peak RSS | mutex peak RSS | CPU s / M msgs (weft) | "
          "CPU s / M msgs (mutex) |")
        w("|---|---:|---:|---:|---:|")
        rows = [("chan/%s" % wl, wl) for wl, _, _ in CHAN_WORKLOADS]
        rows.append(("latency/pingpong_cap0", "pingpong_cap0"))
        for prefix, label in rows:
            a = res.stat(prefix + "/weft", "peak_rss_kib").median
            b = res.stat(prefix + "/mutex", "peak_rss_kib").median
            if a is None and b is None:
                continue
            ca = res.stat(prefix + "/weft", "cpu_s_per_Mmsg").median
            cb = res.stat(prefix + "/mutex", "cpu_s_per_Mmsg").median
            w("| `%s` | %s | %s | %s | %s |" % (
                label, "—" if a is None else "%.0f KiB" % a,
                "—" if b is None else "%.0f KiB" % b, num(ca), num(cb)))
    w("")

    w("## Throughput against thread count")
    w("")
    if not any(res.stat("scale/%dx%d_cap1024/%s" % (p, p, i), "msgs_per_s").ok
               for p in SCALE_P for i in IMPLS):
        w("_Not measured in this run._")
        w("")
        return out
    w("P producers and P consumers on one channel of capacity 1024, %s messages per "
      "run, median of the repetitions (3 by default), on %s CPUs." % (
          res.context.get("weft_bench_scale_msgs", "?"),
          res.context.get("nproc") or res.context.get("num_cpus") or "?"))
    w("")
    w("| threads | weft msgs/s | spread | mutex msgs/s | weft / mutex | "
      "CPU s / M msgs (weft) | CPU s / M msgs (mutex) | peak RSS (weft) |")
    w("|---:|---:|---|---:|---:|---:|---:|---:|")
    for p in SCALE_P:
        nw, nm = "scale/%dx%d_cap1024/weft" % (p, p), "scale/%dx%d_cap1024/mutex" % (p, p)
        sw, sm = res.stat(nw, "msgs_per_s"), res.stat(nm, "msgs_per_s")
        if not sw.ok and not sm.ok:
            continue
        rss = res.stat(nw, "peak_rss_kib").median
        w("| %d (%dx%d) | **%s**%s | %s | %s%s | **%s** | %s | %s | %s |" % (
            2 * p, p, p, si(sw.median), pct_spread(sw), spread(sw), si(sm.median),
            pct_spread(sm), ratio(sw.median, sm.median),
            num(res.stat(nw, "cpu_s_per_Mmsg").median),
            num(res.stat(nm, "cpu_s_per_Mmsg").median),
            "—" if rss is None else "%.0f KiB" % rss))
    w("")
    if make_plots:
        os.makedirs(plots_dir, exist_ok=True)
        pic = plot_scale(res, plots_dir)
        if pic:
            w("![%s](%s)" % (pic[:-4], os.path.join(plots_link, pic)))
        else:
            w("_No plot: gnuplot is not installed or failed._")
        w("")
    return out


# ---- peers -----------------------------------------------------------------------

def merge_go(data, path):
    """Append the Go peer's records (google-benchmark-like iteration entries)
    to data["benchmarks"]; return its context ({"skipped": why} when
    scripts/bench skipped it), or None without a file."""
    if not path:
        return None
    try:
        with open(path) as f:
            go = json.load(f)
    except (OSError, ValueError) as e:
        return {"skipped": "its JSON could not be read (%s)" % e}
    data.setdefault("benchmarks", []).extend(go.get("benchmarks") or [])
    return go.get("context", {})


def go_peer_info(res):
    g = getattr(res, "go_ctx", None)
    if g is None:
        return "not in this report (no --go file)"
    if g.get("skipped"):
        return "skipped: %s" % g["skipped"]
    return "%s, GOMAXPROCS %s (%s CPUs), same sizes and repetitions" % (
        g.get("go_version", "?"), g.get("gomaxprocs", "?"), g.get("num_cpus", "?"))


def go_missing(res):
    """Why there is no Go figure, or None if the Go peer ran."""
    g = getattr(res, "go_ctx", None)
    if g is None:
        return "Go peer not in this report"
    if g.get("skipped"):
        return "Go peer skipped: %s" % g["skipped"]
    return None


def peer_checks(res):
    """Acceptance lines of the peer criteria: weft ahead of ck_ring and
    wfcqueue on every workload they run; ≥ 1.5× Go on every buffered
    workload (select: in the select lines above); unbuffered 1x1 ≥ Go."""
    lines = []

    def thr(wl, impl):
        return res.stat("chan/%s/%s" % (wl, impl), "msgs_per_s").median

    for peer in ("ck", "urcu"):
        ratios, behind = [], []
        for wl, _, _ in CHAN_WORKLOADS:
            a, b = thr(wl, "weft"), thr(wl, peer)
            if a and b:
                ratios.append((a / b, wl))
                if a <= b:
                    behind.append("%s %s" % (wl, ratio(a, b)))
        a = res.stat("latency/pingpong_cap0/weft", "rtt_p50_ns").median
        b = res.stat("latency/pingpong_cap0/%s" % peer, "rtt_p50_ns").median
        if a and b:
            ratios.append((b / a, "ping-pong p50"))
            if a >= b:
                behind.append("ping-pong p50 %s vs %s" % (ns_time(a), ns_time(b)))
        label = "weft ahead of %s on every workload it runs (throughput; ping-pong p50 round trip)" % (
            PEER_LABEL[peer])
        if not ratios:
            lines.append("- **n/a** — %s: not measured" % label)
            continue
        lo, lo_wl = min(ratios)
        lines.append("- **%s** — %s: %d workloads, lowest weft / %s %.2f× (%s)%s (needs > 1× on each)" % (
            "pass" if not behind else "FAIL", label, len(ratios), peer, lo, lo_wl,
            "; behind on " + ", ".join(behind) if behind else ""))

    why = go_missing(res)
    rtt = res.stat("floor/cacheline_rtt", "rtt_ns").median

    def floor_note(wl, a, g):
        """Where a message needs a round trip between the two ends (capacity
        1, unbuffered: the sender's next step waits for the receiver's last),
        say how Go's figure compares with the cross-CPU floor of this run."""
        if wl not in ("1x1_cap1", "1x1_cap0") or not rtt:
            return ""
        g_ns, a_ns = 1e9 / g, 1e9 / a
        return ("; each message waits for a round trip between the two ends: weft %s per "
                "message = %.2f× this run's cache-line round trip (%s), the least a handover "
                "between threads on two CPUs costs; Go's %s = %.2f× it (its two goroutines can "
                "also hand over on one P, by a goroutine switch)" % (
                    ns_time(a_ns), a_ns / rtt, ns_time(rtt), ns_time(g_ns), g_ns / rtt))

    for wl in GO_BUFFERED:
        label = "%s throughput, weft / Go" % wl
        a, g = thr(wl, "weft"), thr(wl, "go")
        if a and g:
            lines.append("- **%s** — %s: %s (needs ≥ 1.5×)%s" % (
                "pass" if a / g >= 1.5 else "FAIL", label, ratio(a, g),
                floor_note(wl, a, g) if a / g < 1.5 else ""))
        else:
            lines.append("- **n/a** — %s (needs ≥ 1.5×): %s" % (label, why or "not measured"))
    a, g = thr("1x1_cap0", "weft"), thr("1x1_cap0", "go")
    label = "unbuffered 1x1 (cap 0) throughput, weft / Go"
    if a and g:
        lines.append("- **%s** — %s: %s (%s vs %s msgs/s; needs ≥ 1×)%s" % (
            "pass" if a >= g else "FAIL", label, ratio(a, g), si(a), si(g),
            floor_note("1x1_cap0", a, g) if a < g else ""))
    else:
        lines.append("- **n/a** — %s (needs ≥ 1×): %s" % (label, why or "not measured"))
    a, g = thr("1x1_cap1024_batch64", "weft"), thr("1x1_cap1024_batch64", "go")
    if a and g:
        lines.append("- **info** — 1x1_cap1024_batch64, weft / Go: %s (not judged: Go has no batch "
                     "operation; its figure is 64 single sends, and a receive plus up to 63 "
                     "non-blocking ones)" % ratio(a, g))
    return lines


def peers_section(res):
    """The channel workloads on weft and the peers, with weft / peer ratios."""
    out = []
    w = out.append
    have = {p: any(res.stat("chan/%s/%s" % (wl, p), "msgs_per_s").ok for wl, _, _ in CHAN_WORKLOADS)
            for p in PEERS}
    if not any(have.values()) and getattr(res, "go_ctx", None) is None:
        return out
    w("## Peers: the same workloads on ck_ring, liburcu's wfcqueue and Go")
    w("")
    w("Each peer runs the same benchmark code (ck, wfcqueue: `bench/chan_bench.c` through "
      "`bench/peers/`; Go: `bench/go/main.go`, the same workloads, sizes, repetitions and "
      "delivery checks, GOMAXPROCS = the machine's CPUs) in the same suite. msgs/s: median "
      "(± half the min – max spread); weft / peer above 1 is weft faster; n/a: the peer "
      "cannot run that workload (see below).")
    w("")
    w("| workload | weft msgs/s | ck_ring + ck_ec | weft / ck | wfcqueue | weft / wfcq | Go | "
      "weft / Go | CPU s / M msgs: weft · ck · wfcq · Go |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    why_go = go_missing(res)
    for wl, desc, _ in CHAN_WORKLOADS:
        sw = res.stat("chan/%s/weft" % wl, "msgs_per_s")
        cells = []
        cpus = [num(res.stat("chan/%s/weft" % wl, "cpu_s_per_Mmsg").median)]
        for p in PEERS:
            sp = res.stat("chan/%s/%s" % (wl, p), "msgs_per_s")
            if sp.ok:
                cells += ["%s%s" % (si(sp.median), pct_spread(sp)), "**%s**" % ratio(sw.median, sp.median)]
                cpus.append(num(res.stat("chan/%s/%s" % (wl, p), "cpu_s_per_Mmsg").median))
            else:
                na = "skipped" if p == "go" and why_go else "n/a"
                cells += [na, "—"]
                cpus.append("—")
        w("| `%s` | **%s**%s | %s | %s |" % (wl, si(sw.median), pct_spread(sw), " | ".join(cells),
                                            " · ".join(cpus)))
    w("")
    w("- **ck_ring + ck_ec** (`bench/peers/ck_chan.c`): ck_ring_enqueue_mpmc / "
      "ck_ring_dequeue_mpmc (8-byte values stored in the pointer slots; 256-byte messages "
      "through CK_RING_PROTOTYPE), blocking with two ck_ec64 event counts (not empty / not "
      "full; our ops: FUTEX_WAIT_BITSET / FUTEX_WAKE), close = a flag + a wake of every "
      "waiter, receivers drain then see closed. A ring holds size − 1 entries in a "
      "power-of-two size, so cap 1 is exact and cap 1024 gets 2047 slots (slack in ck's "
      "favour); no cap 0 (n/a; ping-pong uses a 1-slot ring: one message is in flight). "
      "Multi-producer workloads with more threads than CPUs: n/a (producers convoy, see "
      "below). Batches: loops with one event-count add per batch. No select.")
    w("- **liburcu wfcqueue** (`bench/peers/urcu_chan.c`): cds_wfcq_enqueue / "
      "cds_wfcq_dequeue_blocking (inline, _LGPL_SOURCE), unbounded: capacity is ignored, "
      "so cap 0 / cap 1 are n/a and sends never wait (the queue grows when producers "
      "outrun consumers). Nodes come from per-sender pools recycled through a wait-free "
      "return queue (no malloc per message: fairer than what a naive user writes). "
      "Receivers block on our futex event (wfcqueue has none). Batches: a splice of a "
      "private queue / one dequeue-lock hold. No select.")
    w("- **Go** (`bench/go/`): %s. The batch workload is emulated (no batch "
      "operations in Go). Go's select results are in the select table." % go_peer_info(res))
    w("")
    w("**Who parks and who spins**")
    w("")
    for who, how in PARK_SPIN:
        w("- **%s**: %s" % (who, how))
    w("")
    return out


# ---- waiter protocols ----------------------------------------------------------

def protocol_section(res):
    """The waiter protocol candidates (bench/protocol_bench.c). Nothing when
    the JSON has none of their results (files from before they existed)."""
    out = []
    w = out.append
    if not any(k.startswith("protocol/") for k in list(res.runs) + list(res.aggregates)):
        return out

    def med(name, field):
        return res.stat(name, field).median

    def count(x):
        return "—" if x is None else "%.2f" % x

    floor = res.stat("floor/futex_rtt", "rtt_p50_ns")
    w("## Waiter protocol candidates")
    w("")
    w("`bench/protocol_bench.c` implements, outside the library and without spinning, three "
      "ways for a thread to block on N event sources until one fires: **claim + parker** "
      "(weft's scheme: a node per source in a locked FIFO, a claim word that the firing side "
      "CASes from open to claimed, and a futex parker woken only if its owner sleeps), "
      "**futex_waitv** (a 32-bit sequence word per source, all N passed to the futex_waitv "
      "syscall; a fire bumps the word and calls FUTEX_WAKE) and **mutex + condvar** (the "
      "baseline select's scheme: a node per source under a pthread mutex and a condvar per "
      "waiter that the fire signals). *Wake round trip*: two threads each wait on their own N "
      "sources and wake each other through a random one, pinned to one CPU (each wake is a "
      "context switch there) or to two (each wake crosses CPUs); p50 and p99 over the round "
      "trips, the CPU of both threads per round trip, the futex calls made by the "
      "candidate's own code (not counted for mutex + condvar, whose calls are inside glibc) "
      "and the returns from a kernel sleep. *Register + cancel*: one thread registers on N sources and "
      "withdraws with nothing firing, what a select pays when its re-check finds a case "
      "ready; for futex_waitv that is one call whose last word has changed, so the kernel "
      "queues and unqueues the first N − 1. *Herd*: 16 threads wait on one source and each "
      "fire must let exactly one through (checked); time from the fire to the taker's "
      "return from its wait, CPU per fire of the 16 waiters plus the fire call, and how many "
      "threads returned from a kernel sleep. Wake times depend on the machine's state; the "
      "futex floor of the same run (`floor/futex_rtt`, p50) was %s." % (
          ns_time(floor.median) + pct_spread(floor) if floor.ok else "not measured"))
    w("")

    w("**Wake round trip** (median over repetitions; — : not run)")
    w("")
    w("| threads on | sources | candidate | p50 round trip | p99 round trip | "
      "CPU per round trip | futex calls per round trip | kernel sleeps per round trip |")
    w("|---|---:|---|---:|---:|---:|---:|---:|")
    for cpus, where in PROTO_CPUS:
        if not any(res.stat("protocol/rtt_%dcpu_n%d/%s" % (cpus, n, impl), "rtt_p50_ns").ok
                   for n in PROTO_N for impl, _ in PROTO_CANDIDATES):
            continue
        for n in PROTO_N:
            for impl, label in PROTO_CANDIDATES:
                name = "protocol/rtt_%dcpu_n%d/%s" % (cpus, n, impl)
                p50 = res.stat(name, "rtt_p50_ns")
                w("| %s | %d | %s | %s%s | %s | %s | %s | %s |" % (
                    where, n, label, ns_time(p50.median), pct_spread(p50),
                    ns_time(med(name, "rtt_p99_ns")), ns_time(med(name, "cpu_ns_per_rtt")),
                    count(med(name, "futex_calls_per_rtt")),
                    count(med(name, "sleeps_per_rtt"))))
    w("")

    w("**Register + cancel on N sources, nothing firing** (one thread; time per "
      "register + cancel, futex calls per operation in brackets)")
    w("")
    w("| sources | %s |" % " | ".join(label for _, label in PROTO_CANDIDATES))
    w("|---:|%s" % ("---:|" * len(PROTO_CANDIDATES)))
    for n in PROTO_N:
        cells = []
        for impl, _ in PROTO_CANDIDATES:
            name = "protocol/arm_cancel_n%d/%s" % (n, impl)
            st = res.stat(name, "ns_per_op")
            calls = med(name, "futex_calls_per_op")
            cells.append("%s%s%s" % (ns_time(st.median), pct_spread(st),
                                      "" if calls is None or not st.ok else " (%.2f)" % calls))
        w("| %d | %s |" % (n, " | ".join(cells)))
    w("")

    w("**Herd: 16 waiters on one source, one fire** (median over repetitions of each "
      "run's figures)")
    w("")
    w("| candidate | fire → taker returns, p50 | p99 | CPU per fire, mean | CPU per fire, "
      "p50 | threads woken per fire | futex calls per fire |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for impl, label in PROTO_HERD:
        name = "protocol/herd16/%s" % impl
        p50 = res.stat(name, "wake_p50_ns")
        w("| %s | %s%s | %s | %s | %s | %s | %s |" % (
            label, ns_time(p50.median), pct_spread(p50), ns_time(med(name, "wake_p99_ns")),
            ns_time(med(name, "cpu_ns_per_fire")), ns_time(med(name, "cpu_p50_ns_per_fire")),
            count(med(name, "woken_per_fire")), count(med(name, "futex_calls_per_fire"))))
    w("")
    return out


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
    w("| Go peer | %s |" % go_peer_info(res))
    w("| messages per run | %s buffered; %s for cap 0 / cap 1; %s ping-pong round trips |" % (
        si(float(ctx.get("weft_bench_msgs", 0)) or None),
        si(float(ctx.get("weft_bench_slow_msgs", 0)) or None),
        si(float(ctx.get("weft_bench_rtt_rounds", 0)) or None)))
    if ctx.get("weft_bench_select_msgs") or ctx.get("weft_bench_sync_ops"):
        w("| select / sync sizes | %s messages per select run; %s fast sync ops; %s "
          "semaphore / timer ops; %s tasks per spawn / fan-in run; %s cancellations "
          "per fan-out run |" % (
              si(float(ctx.get("weft_bench_select_msgs", 0)) or None),
              si(float(ctx.get("weft_bench_sync_ops", 0)) or None),
              si(float(ctx.get("weft_bench_sync_slow_ops", 0)) or None),
              si(float(ctx.get("weft_bench_spawns", 0)) or None),
              ctx.get("weft_bench_cancel_rounds", "—")))
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
      "relative to the median). A wide spread means the machine was busy. "
      "scripts/bench runs the repetitions of all benchmarks interleaved in "
      "random order, so that a workload and the baseline or workload it is "
      "compared with sample the same stretch of the machine's load; the Go "
      "peer runs afterwards, in its own process, its repetitions "
      "interleaved the same way.")
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

    def info(label, text):
        checks.append("- **info** — %s: %s" % (label, text))

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

    # Select (the criterion is against Go, which is not in the harness yet).
    for wl, label in (("4to1_cap1024", "select RECV over 4 buffered channels fed by 4 producers"),
                      ("4x4_cap1024", "4 selecting senders × 4 selecting receivers over 4 channels")):
        a = res.stat("select/%s/weft" % wl, "msgs_per_s").median
        b = res.stat("select/%s/mutex" % wl, "msgs_per_s").median
        g = res.stat("select/%s/go" % wl, "msgs_per_s").median   # the Go peer, if merged
        if a is None:
            checks.append("- **n/a** — %s, weft / Go (needs ≥ 1.5×): not measured" % label)
        elif g is None:
            checks.append("- **n/a** — %s, weft / Go (needs ≥ 1.5×): %s "
                          "(weft %s msgs/s; %s the mutex baseline)" % (
                              label, go_missing(res) or "Go peer not measured", si(a),
                              ratio(a, b) if b else "—"))
        else:
            check("%s, weft / Go" % label, ratio(a, g), "≥ 1.5×", a / g >= 1.5)

    # Sync.
    def ns(name):
        return res.stat(name, "ns_per_op").median

    o, l, pt = ns("sync/once_done/weft"), ns("sync/once_done/acquire_load"), \
        ns("sync/once_done/pthread_once")
    check("weft_once_do after completion / a plain acquire load",
          "%s / %s = %s" % (ns_time(o), ns_time(l), ratio(o, l, "%.2f")) if o and l else None,
          "≤ 1.2", bool(o and l and o / l <= 1.2))
    check("weft_once_do after completion vs pthread_once",
          "%s vs %s" % (ns_time(o), ns_time(pt)) if o and pt else None,
          "faster", bool(o and pt and o < pt))
    for impl, how in (("weft_wg", "weft_wg_go + weft_wg_wait"),
                      ("weft_chan", "weft_go + channel receive")):
        a, b = ns("sync/spawn/%s" % impl), ns("sync/spawn/pthread")
        check("task start + completion, %s vs pthread_create + pthread_join" % how,
              "%s vs %s: %s faster" % (ns_time(a), ns_time(b), ratio(b, a)) if a and b else None,
              "≥ 5×", bool(a and b and b / a >= 5))
    a, b = ns("sync/wg_add_done/weft"), ns("sync/wg_add_done/two_atomics")
    if a and b:
        info("uncontended waitgroup add/done pair (criterion: no more than two atomic "
             "operations — a count, read from sync/wg.c, not a time)",
             "%s per pair vs %s for two atomic RMWs on one word (%s)" % (
                 ns_time(a), ns_time(b), ratio(a, b)))
    else:
        checks.append("- **n/a** — uncontended waitgroup add/done pair vs two atomic RMWs: "
                      "not measured")
    checks.extend(peer_checks(res))
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

    # Peers
    out.extend(peers_section(res))

    # Select
    if any(res.stat("select/%s/%s" % (wl, i), "msgs_per_s").ok
           for wl, _ in SELECT_WORKLOADS for i in IMPLS):
        w("## Select")
        w("")
        w("Four channels of capacity 1024, 8-byte messages, the same benchmark code for "
          "weft_select and the baseline's select (`bench/baselines/mutex_chan.c`: one "
          "condvar per selector, registered on every channel it waits on). Delivery is "
          "checked as for the channels (count, checksum, per-channel order of each "
          "producer). The select issue's target is ≥ 1.5× Go's rate: the Go columns are "
          "`select/<workload>/go` results when the Go peer's JSON is merged, — otherwise.")
        w("")
        w("| workload | weft msgs/s | spread | mutex msgs/s | weft / mutex | Go msgs/s | "
          "weft / Go | CPU s / M msgs (weft) | CPU s / M msgs (mutex) |")
        w("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for wl, desc in SELECT_WORKLOADS:
            sw = res.stat("select/%s/weft" % wl, "msgs_per_s")
            sm = res.stat("select/%s/mutex" % wl, "msgs_per_s")
            if not sw.ok and not sm.ok:
                continue
            sg = res.stat("select/%s/go" % wl, "msgs_per_s")
            cw = res.stat("select/%s/weft" % wl, "cpu_s_per_Mmsg").median
            cm = res.stat("select/%s/mutex" % wl, "cpu_s_per_Mmsg").median
            w("| `%s` <br><sub>%s</sub> | **%s**%s | %s | %s%s | **%s** | %s%s | **%s** | %s | %s |" % (
                wl, desc, si(sw.median), pct_spread(sw), spread(sw), si(sm.median),
                pct_spread(sm), ratio(sw.median, sm.median), si(sg.median), pct_spread(sg),
                ratio(sw.median, sg.median), num(cw), num(cm)))
        w("")

    # Waiter protocols
    out.extend(protocol_section(res))

    # Sync
    if any(k.startswith("sync/") for k in list(res.runs) + list(res.aggregates)):
        w("## Sync")
        w("")
        w("Time per operation (median over repetitions; spread min – max). weft's rows "
          "are in bold; each baseline row says how many times faster weft (its first "
          "row) is than it (baseline time / weft time: above 1 is weft faster). Operations are "
          "defined in `bench/sync_bench.c`; single-thread workloads run on one thread, "
          "timed from the start gate to the end of the loop. **CPU per op** is the CPU "
          "time of the benchmark's own threads in that region (not of weft's pool or "
          "timer threads, nor of the threads a baseline starts): well above the time "
          "per op means several threads were busy, close to it on a one-thread "
          "workload that waits means it spun rather than slept.")
        w("")
        w("| workload | implementation | time per op | spread | weft faster by | CPU per op |")
        w("|---|---|---:|---|---:|---:|")
        for wl, desc, impls in SYNC_WORKLOADS:
            weft_name = "sync/%s/%s" % (wl, impls[0][0])
            base = res.stat(weft_name, "ns_per_op").median
            first = True
            for impl, label in impls:
                st = res.stat("sync/%s/%s" % (wl, impl), "ns_per_op")
                if not st.ok:
                    continue
                head = "`%s` <br><sub>%s</sub>" % (wl, desc) if first else ""
                cpu = ns_time(res.stat("sync/%s/%s" % (wl, impl), "cpu_ns_per_op").median)
                if impl.startswith("weft"):
                    w("| %s | **%s** | **%s**%s | %s | | %s |" % (
                        head, label, ns_time(st.median), pct_spread(st), spread(st, ns_time), cpu))
                else:
                    w("| %s | %s | %s%s | %s | %s | %s |" % (
                        head, label, ns_time(st.median), pct_spread(st), spread(st, ns_time),
                        ratio(st.median, base), cpu))
                first = False
        w("")

        rows = []
        for n in CANCEL_WAITERS:
            a = res.stat("sync/cancel_fanout_%d/weft" % n, "all_woken_p50_ns")
            b = res.stat("sync/cancel_fanout_%d/condvar" % n, "all_woken_p50_ns")
            if a.ok or b.ok:
                rows.append((n, a, b))
        if rows:
            w("### Cancel fan-out")
            w("")
            w("N threads blocked — weft: in `weft_chan_recv(weft_ctx_done(ctx))`; baseline: "
              "a condvar wait on a flag (`bench/baselines/sync_baselines.c`). Once all are "
              "asleep in the kernel the main thread cancels (weft_ctx_cancel / set the flag "
              "and broadcast); time from the cancel to the last waiter running, median over "
              "%s rounds per repetition, then the median over repetitions. Also the median "
              "waiter's wake time and how long the cancel call itself took. On %s CPUs, "
              "waking 1000 threads is mostly the scheduler's work." % (
                  ctx.get("weft_bench_cancel_rounds", "?"),
                  ctx.get("nproc") or ctx.get("num_cpus") or "?"))
            w("")
            w("| waiters | weft: all woken | spread | condvar: all woken | weft faster by | "
              "median waiter (weft / condvar) | cancel call (weft / condvar) |")
            w("|---:|---:|---|---:|---:|---:|---:|")
            for n, a, b in rows:
                wa = res.stat("sync/cancel_fanout_%d/weft" % n, "waiter_p50_ns").median
                wb = res.stat("sync/cancel_fanout_%d/condvar" % n, "waiter_p50_ns").median
                ca = res.stat("sync/cancel_fanout_%d/weft" % n, "cancel_call_p50_ns").median
                cb = res.stat("sync/cancel_fanout_%d/condvar" % n, "cancel_call_p50_ns").median
                w("| %d | **%s**%s | %s | %s%s | **%s** | %s / %s | %s / %s |" % (
                    n, ns_time(a.median), pct_spread(a), spread(a, ns_time), ns_time(b.median),
                    pct_spread(b), ratio(b.median, a.median), ns_time(wa), ns_time(wb),
                    ns_time(ca), ns_time(cb)))
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
    for impl in IMPLS + PEERS:
        name = "latency/pingpong_cap0/%s" % impl
        p50 = res.stat(name, "rtt_p50_ns")
        if not p50.ok:
            continue
        p99 = res.stat(name, "rtt_p99_ns").median
        mean = res.stat(name, "rtt_mean_ns").median
        label = IMPL_LABEL.get(impl) or PEER_ROW_LABEL[impl]
        w("| %s | %s%s | %s | %s | %s |" % (label, ns_time(p50.median), pct_spread(p50),
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
    for impl in IMPLS + PEERS:
        st = res.stat("parked/100_receivers/%s" % impl, "cpu_pct_of_core")
        if st.ok:
            sp = "%.3g – %.3g" % (st.lo, st.hi) if st.n >= 2 else "—"
            label = IMPL_LABEL.get(impl) or PEER_LABEL[impl]
            w("| %s | %.3g %% | %s |" % (label, st.median, sp))
    w("")

    # Memory, and throughput against threads
    out.extend(memory_section(res, plots_dir, plots_link, make_plots))

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
    ap.add_argument("--go", metavar="GO_JSON",
                    help="the Go peer's JSON (scripts/bench: bench/results/latest-go.json), "
                         "merged into the report")
    args = ap.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    go_ctx = merge_go(data, args.go)
    res = Results(data)
    res.go_ctx = go_ctx
    plots_dir = os.path.abspath(args.plots_dir)
    # Links in RESULTS.md are relative to the repository root, where it lives.
    link = os.path.relpath(plots_dir, ROOT)
    if link.startswith(".."):
        link = plots_dir
    sys.stdout.write(generate(res, plots_dir, link, not args.no_plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
