// shim.cpp — the one C++ file of the benchmark harness.
//
// It registers the C benchmark bodies (bench.h) with google-benchmark and
// runs them. Each body performs one complete run and measures its own timed
// region, so every benchmark is registered as:
//
//   UseManualTime()   the reported time is the body's own measurement
//                     (SetIterationTime), never the shim's wall clock
//                     around thread creation and join;
//   Iterations(1)     one run per repetition; a run already moves >= 1 M
//                     messages in the default suite;
//   MeasureProcessCPUTime()  the console's CPU column is the whole process's
//                     CPU over the run, setup included (the precise figure
//                     is the cpu_s_per_Mmsg counter, timed region only);
//   repetitions       from --benchmark_repetitions (default 5 here), so the
//                     JSON has one entry per run plus google-benchmark's
//                     aggregates (mean, median, stddev, cv); the console
//                     shows only the aggregates.
//
// Counters set from what the body measured:
//   items_per_second  google-benchmark's own (SetItemsProcessed over the
//                     manual time), equal to msgs_per_s
//   msgs_per_s        items / seconds           (message workloads)
//   ns_per_msg        seconds / items
//   cpu_s_per_Mmsg    CPU seconds of the workers per million messages
//   ...               plus the body's own (rtt_p50_ns, GBps, cpu_pct_of_core,
//                     and ns_per_op for the sync bodies, which move no
//                     messages and leave items at 0)
//
// WEFT_BENCH_PROGRESS=1 prints one line per run to stderr (scripts/bench
// sets it for the full suite, whose console table only shows a benchmark
// once all its repetitions are done). Every --benchmark_* flag is passed
// through. The exit status is 1 if any
// benchmark reported an error (a lost message, a failed call), so the quick
// mode of scripts/bench fails loudly. A watchdog (WEFT_BENCH_TIMEOUT_S,
// default 300 s per run) turns a hang — a lost wakeup in a channel — into
// exit status 3 naming the benchmark, instead of a stuck test suite.
#include <benchmark/benchmark.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench.h"

namespace {

int g_errors = 0;
bool g_progress = false;
unsigned g_timeout_s = 300;
int g_reps = 5;                 // the run's --benchmark_repetitions
const char *volatile g_current = "";

void on_alarm(int)
{
    // Only async-signal-safe calls here.
    const char *a = "\nweft_bench: ";
    const char *b = " did not finish within WEFT_BENCH_TIMEOUT_S (a hang?)\n";
    const char *n = g_current;
    ssize_t r = write(2, a, std::strlen(a));
    r = write(2, n, std::strlen(n));
    r = write(2, b, std::strlen(b));
    (void)r;
    _exit(3);
}

void run_body(benchmark::State &st, const std::string &name, bench_fn fn, const void *arg)
{
    bench_result r;
    double seconds = 0, cpu = 0, items = 0;
    bool have_cpu = true;
    for (auto _ : st) {
        std::memset(&r, 0, sizeof r);
        g_current = name.c_str();
        alarm(g_timeout_s);
        fn(arg, &r);
        alarm(0);
        if (r.error != nullptr) {
            std::fprintf(stderr, "weft_bench: %s FAILED: %s\n", name.c_str(), r.error);
            g_errors++;
            st.SkipWithError(r.error);
            break;
        }
        st.SetIterationTime(r.seconds);
        if (g_progress) {
            static std::string last;
            static int run = 0;
            run = (last == name) ? run + 1 : 1;
            last = name;
            if (r.items > 0 && r.seconds > 0)
                std::fprintf(stderr, "  .. %s run %d: %.3g msgs/s\n", name.c_str(), run,
                             r.items / r.seconds);
            else
                std::fprintf(stderr, "  .. %s run %d: %.3g s\n", name.c_str(), run, r.seconds);
        }
        seconds += r.seconds;
        items += r.items;
        if (r.cpu_seconds < 0)
            have_cpu = false;
        cpu += r.cpu_seconds;
    }
    if (st.error_occurred())
        return;
    if (items > 0 && seconds > 0) {
        st.SetItemsProcessed(static_cast<int64_t>(items));
        st.counters["msgs_per_s"] = benchmark::Counter(items / seconds);
        st.counters["ns_per_msg"] = benchmark::Counter(seconds * 1e9 / items);
        if (have_cpu)
            st.counters["cpu_s_per_Mmsg"] = benchmark::Counter(cpu / (items / 1e6));
    }
    for (int i = 0; i < r.ncounters; i++)
        st.counters[r.counters[i].name] = benchmark::Counter(r.counters[i].value);
}

bool has_flag(int argc, char **argv, const char *prefix)
{
    for (int i = 1; i < argc; i++)
        if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0)
            return true;
    return false;
}

} // namespace

namespace {

benchmark::internal::Benchmark *register_body(const char *name, bench_fn fn, const void *arg)
{
    std::string n(name);
    return benchmark::RegisterBenchmark(name, [n, fn, arg](benchmark::State &st) {
        run_body(st, n, fn, arg);
    })
        ->UseManualTime()
        ->MeasureProcessCPUTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
}

} // namespace

extern "C" void bench_register(const char *name, bench_fn fn, const void *arg)
{
    register_body(name, fn, arg);
}

extern "C" void bench_register_reps(const char *name, bench_fn fn, const void *arg, int reps)
{
    if (reps > g_reps)
        reps = g_reps;
    if (reps < 1)
        reps = 1;
    register_body(name, fn, arg)->Repetitions(reps);
}

int main(int argc, char **argv)
{
    // Defaults that a --benchmark_* flag on the command line overrides.
    std::vector<char *> args(argv, argv + argc);
    std::string reps = "--benchmark_repetitions=5";
    std::string aggr = "--benchmark_display_aggregates_only=true";
    if (!has_flag(argc, argv, "--benchmark_repetitions"))
        args.insert(args.begin() + 1, &reps[0]);
    if (!has_flag(argc, argv, "--benchmark_display_aggregates_only") &&
        !has_flag(argc, argv, "--benchmark_report_aggregates_only"))
        args.insert(args.begin() + 1, &aggr[0]);
    int n = static_cast<int>(args.size());
    args.push_back(nullptr);
    // The run's repetitions (the last flag wins, as in google-benchmark):
    // bench_register_reps never asks for more.
    for (int i = 1; i < n; i++)
        if (std::strncmp(args[i], "--benchmark_repetitions=", 24) == 0 &&
            std::atoi(args[i] + 24) > 0)
            g_reps = std::atoi(args[i] + 24);

    if (const char *t = std::getenv("WEFT_BENCH_TIMEOUT_S"))
        if (std::atoi(t) > 0)
            g_timeout_s = static_cast<unsigned>(std::atoi(t));
    std::signal(SIGALRM, on_alarm);
    if (const char *p = std::getenv("WEFT_BENCH_PROGRESS"))
        g_progress = std::strcmp(p, "1") == 0;

    chan_bench_register();
    select_bench_register();
    sync_bench_register();
    floor_bench_register();
    parked_bench_register();
    mem_bench_register();
    protocol_bench_register();

    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data()))
        return 2;
    benchmark::AddCustomContext("weft_bench_msgs", std::to_string(bench_msgs()));
    benchmark::AddCustomContext("weft_bench_slow_msgs", std::to_string(bench_slow_msgs()));
    benchmark::AddCustomContext("weft_bench_rtt_rounds", std::to_string(bench_rtt_rounds()));
    benchmark::AddCustomContext("weft_bench_park_ms", std::to_string(bench_park_ms()));
    benchmark::AddCustomContext("weft_bench_select_msgs", std::to_string(bench_select_msgs()));
    benchmark::AddCustomContext("weft_bench_sync_ops", std::to_string(bench_sync_ops()));
    benchmark::AddCustomContext("weft_bench_sync_slow_ops", std::to_string(bench_sync_slow_ops()));
    benchmark::AddCustomContext("weft_bench_spawns", std::to_string(bench_spawns()));
    benchmark::AddCustomContext("weft_bench_cancel_rounds", std::to_string(bench_cancel_rounds()));
    benchmark::AddCustomContext("weft_bench_scale_msgs", std::to_string(bench_scale_msgs()));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (g_errors > 0) {
        std::fprintf(stderr, "weft_bench: %d benchmark(s) FAILED\n", g_errors);
        return 1;
    }
    return 0;
}
