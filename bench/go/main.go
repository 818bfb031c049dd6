// Command weftgo runs weft's channel and select workloads on Go's own
// channels: the Go peer of bench/chan_bench.c and bench/select_bench.c.
//
// scripts/bench builds it (offline: no dependencies outside the standard
// library) and runs it after weft_bench with GOMAXPROCS = the machine's
// CPUs, the same sizes (WEFT_BENCH_MSGS, WEFT_BENCH_SLOW_MSGS,
// WEFT_BENCH_RTT_ROUNDS, WEFT_BENCH_SELECT_MSGS, same defaults) and the
// same number of repetitions, and writes JSON whose records look like
// google-benchmark's iteration entries ("name": "chan/4x4_cap1024/go",
// "run_type": "iteration", msgs_per_s, ns_per_msg, cpu_s_per_Mmsg,
// rtt_p50_ns, ...), so scripts/gen_results.py merges them with weft's.
//
// Timing, as the C harness: every goroutine is started and waits at a gate
// (a channel closed to open it); each reads the clock first thing after the
// gate and last thing when done; the run's time is min start -> max end.
// CPU is the process's (getrusage) over the same span, per million
// messages: it includes the Go runtime's own threads (GC, sysmon).
//
// Checks, as the C harness: every message is (producer << 40 | sequence);
// receivers check per-producer order (per channel for select), and every
// run checks the count and the sum of what was received. A failed check is
// an error record and exit status 1.
//
// Goroutines park in Go's scheduler (a blocked channel operation parks the
// goroutine; the runtime's M spins briefly looking for work, then sleeps on
// a futex): nothing in this program spins. parked/100_receivers/go measures
// what 100 goroutines blocked in a receive cost, as bench/parked_cpu.c.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const maxProducers = 16

func tag(p int, seq uint64) uint64 { return uint64(p)<<40 | seq }
func tagProducer(t uint64) int     { return int(t >> 40) }
func tagSeq(t uint64) uint64       { return t & (1<<40 - 1) }

// inOrder: per-producer order at a receiver. next[p] is the lowest sequence
// still allowed from producer p (p < len(next)); true, advancing next[p], if
// v keeps its producer's order, false for an out-of-order or foreign tag.
func inOrder(next []uint64, v uint64) bool {
	p := tagProducer(v)
	if p >= len(next) || tagSeq(v) < next[p] {
		return false
	}
	next[p] = tagSeq(v) + 1
	return true
}

func envU64(name string, dflt uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return dflt
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return dflt
	}
	return v
}

var (
	sizeMsgs       = envU64("WEFT_BENCH_MSGS", 5000000)
	sizeSlowMsgs   = envU64("WEFT_BENCH_SLOW_MSGS", 200000)
	sizeRTTRounds  = envU64("WEFT_BENCH_RTT_ROUNDS", 200000)
	sizeSelectMsgs = envU64("WEFT_BENCH_SELECT_MSGS", 2000000)
	sizeParkMS     = envU64("WEFT_BENCH_PARK_MS", 1000)
)

// ---- one run's measurement ----------------------------------------------------

type result struct {
	seconds  float64
	cpu      float64 // process CPU seconds over the run, or -1
	items    float64
	counters map[string]float64
	err      string
}

func cpuNow() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) * 1e-9
}

// gate runs n workers: each waits until all have started, then runs
// fn(index); returns the wall time from the first worker's start to the
// last worker's end, and the process CPU time in between (approximately:
// read just before opening the gate and just after the last end).
func gate(n int, fn func(i int)) (seconds, cpu float64) {
	var ready, done sync.WaitGroup
	open := make(chan struct{})
	starts := make([]time.Time, n)
	ends := make([]time.Time, n)
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer done.Done()
			ready.Done()
			<-open
			starts[i] = time.Now()
			fn(i)
			ends[i] = time.Now()
		}(i)
	}
	ready.Wait()
	c0 := cpuNow()
	close(open)
	done.Wait()
	c1 := cpuNow()
	t0, t1 := starts[0], ends[0]
	for i := 1; i < n; i++ {
		if starts[i].Before(t0) {
			t0 = starts[i]
		}
		if ends[i].After(t1) {
			t1 = ends[i]
		}
	}
	cpu = -1
	if c0 >= 0 && c1 >= 0 {
		cpu = c1 - c0
	}
	return t1.Sub(t0).Seconds(), cpu
}

func expectedSum(producers int, per uint64) uint64 {
	var s uint64
	for p := 0; p < producers; p++ {
		s += uint64(p)*per*(1<<40) + per*(per-1)/2
	}
	return s
}

// ---- channel workloads ----------------------------------------------------------

type workload struct {
	group, name          string
	kind                 string // "seq", "pc", "pc256", "batch", "pingpong", "sel4to1", "sel4x4"
	producers, consumers int
	capacity             int
	slow                 bool
}

var workloads = []workload{
	{"chan", "seq_cap1024", "seq", 1, 1, 1024, false},
	{"chan", "1x1_cap0", "pc", 1, 1, 0, true},
	{"chan", "1x1_cap1", "pc", 1, 1, 1, true},
	{"chan", "1x1_cap1024", "pc", 1, 1, 1024, false},
	{"chan", "4x1_cap1024", "pc", 4, 1, 1024, false},
	{"chan", "4x4_cap1024", "pc", 4, 4, 1024, false},
	{"chan", "16x16_cap1024", "pc", 16, 16, 1024, false},
	{"chan", "1x1_cap1024_batch64", "batch", 1, 1, 1024, false},
	{"chan", "1x1_cap1024_256B", "pc256", 1, 1, 1024, false},
	{"chan", "4x4_cap1024_256B", "pc256", 4, 4, 1024, false},
	{"latency", "pingpong_cap0", "pingpong", 1, 1, 0, true},
	{"select", "4to1_cap1024", "sel4to1", 4, 1, 1024, false},
	{"select", "4x4_cap1024", "sel4x4", 4, 4, 1024, false},
	{"parked", "100_receivers", "parked", 0, 100, 1024, false},
}

type tally struct {
	received atomic.Uint64
	sum      atomic.Uint64
	orderBad atomic.Bool
}

func (t *tally) check(total uint64, producers int, per uint64, r *result) {
	switch {
	case t.orderBad.Load():
		r.err = "values from one producer arrived out of order"
	case t.received.Load() != total:
		r.err = "messages lost or duplicated (count)"
	case t.sum.Load() != expectedSum(producers, per):
		r.err = "messages lost or duplicated (checksum)"
	}
}

func split(total uint64, producers int) (per, all uint64) {
	per = total / uint64(producers)
	if per == 0 {
		per = 1
	}
	return per, per * uint64(producers)
}

func runSeq(w workload) result {
	per, total := split(sizeMsgs, 1)
	ch := make(chan uint64, w.capacity)
	var r result
	var sum uint64
	secs, cpu := gate(1, func(int) {
		for done := uint64(0); done < per; {
			k := per - done
			if k > uint64(w.capacity) {
				k = uint64(w.capacity)
			}
			for i := uint64(0); i < k; i++ {
				ch <- tag(0, done+i)
			}
			for i := uint64(0); i < k; i++ {
				v := <-ch
				if v != tag(0, done+i) {
					r.err = "seq: wrong value received"
					return
				}
				sum += v
			}
			done += k
		}
	})
	if r.err == "" && sum != expectedSum(1, per) {
		r.err = "messages lost or duplicated (checksum)"
	}
	r.seconds, r.cpu, r.items = secs, cpu, float64(total)
	return r
}

func runPC(w workload) result {
	n := sizeMsgs
	if w.slow {
		n = sizeSlowMsgs
	}
	per, total := split(n, w.producers)
	ch := make(chan uint64, w.capacity)
	var t tally
	left := int32(w.producers)
	secs, cpu := gate(w.producers+w.consumers, func(i int) {
		if i < w.producers {
			for s := uint64(0); s < per; s++ {
				ch <- tag(i, s)
			}
			if atomic.AddInt32(&left, -1) == 0 {
				close(ch)
			}
			return
		}
		var next [maxProducers]uint64
		var count, sum uint64
		bad := false
		for v := range ch {
			if !inOrder(next[:], v) {
				bad = true
			}
			count++
			sum += v
		}
		if bad {
			t.orderBad.Store(true)
		}
		t.received.Add(count)
		t.sum.Add(sum)
	})
	r := result{seconds: secs, cpu: cpu, items: float64(total)}
	t.check(total, w.producers, per, &r)
	return r
}

// 256-byte messages: the tag in the first word, as the C harness.
type msg256 [32]uint64

func runPC256(w workload) result {
	per, total := split(sizeMsgs, w.producers)
	ch := make(chan msg256, w.capacity)
	var t tally
	left := int32(w.producers)
	secs, cpu := gate(w.producers+w.consumers, func(i int) {
		if i < w.producers {
			var m msg256
			for s := uint64(0); s < per; s++ {
				m[0] = tag(i, s)
				ch <- m
			}
			if atomic.AddInt32(&left, -1) == 0 {
				close(ch)
			}
			return
		}
		var next [maxProducers]uint64
		var count, sum uint64
		bad := false
		for m := range ch {
			v := m[0]
			if !inOrder(next[:], v) {
				bad = true
			}
			count++
			sum += v
		}
		if bad {
			t.orderBad.Store(true)
		}
		t.received.Add(count)
		t.sum.Add(sum)
	})
	r := result{seconds: secs, cpu: cpu, items: float64(total)}
	t.check(total, w.producers, per, &r)
	return r
}

// Go has no batch operations: the batch-64 workload is emulated as a Go
// programmer would write weft's send_many / recv_many: 64 sends in a loop;
// one blocking receive, then up to 63 more that are ready (select with
// default), the recv_many contract.
func runBatch(w workload) result {
	const batch = 64
	per, total := split(sizeMsgs, 1)
	ch := make(chan uint64, w.capacity)
	var t tally
	secs, cpu := gate(2, func(i int) {
		if i == 0 {
			var buf [batch]uint64
			for s := uint64(0); s < per; {
				k := per - s
				if k > batch {
					k = batch
				}
				for j := uint64(0); j < k; j++ {
					buf[j] = tag(0, s+j)
				}
				for j := uint64(0); j < k; j++ {
					ch <- buf[j]
				}
				s += k
			}
			close(ch)
			return
		}
		var buf [batch]uint64
		var next [1]uint64 // one producer
		var count, sum uint64
		bad := false
		for {
			v, ok := <-ch
			if !ok {
				break
			}
			buf[0] = v
			got := 1
		more:
			for got < batch {
				select {
				case v, ok := <-ch:
					if !ok {
						break more
					}
					buf[got] = v
					got++
				default:
					break more
				}
			}
			for _, v := range buf[:got] {
				if !inOrder(next[:], v) {
					bad = true
				}
				sum += v
			}
			count += uint64(got)
		}
		if bad {
			t.orderBad.Store(true)
		}
		t.received.Add(count)
		t.sum.Add(sum)
	})
	r := result{seconds: secs, cpu: cpu, items: float64(total)}
	t.check(total, 1, per, &r)
	return r
}

func quantileSorted(v []int64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	k := int(q * float64(len(v)))
	if k >= len(v) {
		k = len(v) - 1
	}
	return float64(v[k])
}

func runPingPong(w workload) result {
	rounds := sizeRTTRounds
	ping, pong := make(chan uint64), make(chan uint64)
	rtt := make([]int64, rounds)
	var r result
	secs, cpu := gate(2, func(i int) {
		if i == 0 {
			prev := time.Now()
			for k := uint64(0); k < rounds; k++ {
				ping <- k
				v := <-pong
				if v != k+1 {
					r.err = "ping-pong: wrong value returned"
					break
				}
				now := time.Now()
				rtt[k] = int64(now.Sub(prev))
				prev = now
			}
			close(ping)
			return
		}
		for v := range ping {
			pong <- v + 1
		}
	})
	r.seconds, r.cpu, r.items = secs, cpu, float64(2*rounds)
	sort.Slice(rtt, func(a, b int) bool { return rtt[a] < rtt[b] })
	r.counters = map[string]float64{
		"rtt_p50_ns":  quantileSorted(rtt, 0.50),
		"rtt_p99_ns":  quantileSorted(rtt, 0.99),
		"rtt_mean_ns": secs * 1e9 / float64(rounds),
	}
	return r
}

// ---- select workloads (bench/select_bench.c) --------------------------------

const nchans = 4

// selConsumer receives over the four channels until all four are closed and
// drained (a closed channel is set to nil, Go's idiom), checking per-channel
// per-producer order.
func selConsumer(cs [nchans]chan uint64, t *tally) {
	c0, c1, c2, c3 := cs[0], cs[1], cs[2], cs[3]
	var next [nchans][nchans]uint64
	var count, sum uint64
	bad := false
	open := nchans
	for open > 0 {
		var v uint64
		var ok bool
		var k int
		select {
		case v, ok = <-c0:
			if !ok {
				c0 = nil
			}
			k = 0
		case v, ok = <-c1:
			if !ok {
				c1 = nil
			}
			k = 1
		case v, ok = <-c2:
			if !ok {
				c2 = nil
			}
			k = 2
		case v, ok = <-c3:
			if !ok {
				c3 = nil
			}
			k = 3
		}
		if !ok {
			open--
			continue
		}
		if !inOrder(next[k][:], v) {
			bad = true
		}
		count++
		sum += v
	}
	if bad {
		t.orderBad.Store(true)
	}
	t.received.Add(count)
	t.sum.Add(sum)
}

func runSelect(w workload) result {
	per, total := split(sizeSelectMsgs, w.producers)
	var cs [nchans]chan uint64
	for i := range cs {
		cs[i] = make(chan uint64, w.capacity)
	}
	var t tally
	left := int32(w.producers)
	secs, cpu := gate(w.producers+w.consumers, func(i int) {
		if i >= w.producers {
			selConsumer(cs, &t)
			return
		}
		if w.kind == "sel4to1" {
			// One channel per producer, plain sends, close our own.
			c := cs[i]
			for s := uint64(0); s < per; s++ {
				c <- tag(i, s)
			}
			close(c)
			return
		}
		c0, c1, c2, c3 := cs[0], cs[1], cs[2], cs[3]
		for s := uint64(0); s < per; s++ {
			v := tag(i, s)
			select {
			case c0 <- v:
			case c1 <- v:
			case c2 <- v:
			case c3 <- v:
			}
		}
		// The last sender closes every channel: receivers drain, then stop.
		if atomic.AddInt32(&left, -1) == 0 {
			for _, c := range cs {
				close(c)
			}
		}
	})
	r := result{seconds: secs, cpu: cpu, items: float64(total)}
	t.check(total, w.producers, per, &r)
	return r
}

// parked/100_receivers (bench/parked_cpu.c): 100 goroutines receive on an
// empty buffered channel; once all have arrived, let them settle for a fifth
// of the window, then the process CPU time over WEFT_BENCH_PARK_MS as a
// share of one core; then close: every receiver must see "closed".
func runParked(w workload) result {
	ch := make(chan uint64, w.capacity)
	var arrived, done sync.WaitGroup
	var bad atomic.Int32
	arrived.Add(w.consumers)
	done.Add(w.consumers)
	for i := 0; i < w.consumers; i++ {
		go func() {
			defer done.Done()
			arrived.Done()
			if _, ok := <-ch; ok {
				bad.Add(1)
			}
		}()
	}
	arrived.Wait()
	window := time.Duration(sizeParkMS) * time.Millisecond
	time.Sleep(window / 5)
	c0, t0 := cpuNow(), time.Now()
	time.Sleep(window)
	c1, t1 := cpuNow(), time.Now()
	close(ch)
	done.Wait()
	r := result{seconds: t1.Sub(t0).Seconds(), cpu: c1 - c0}
	r.counters = map[string]float64{"cpu_pct_of_core": 100 * (c1 - c0) / t1.Sub(t0).Seconds()}
	if bad.Load() != 0 {
		r.err = "a parked receiver did not get closed"
	}
	return r
}

func runOne(w workload) result {
	switch w.kind {
	case "parked":
		return runParked(w)
	case "seq":
		return runSeq(w)
	case "pc":
		return runPC(w)
	case "pc256":
		return runPC256(w)
	case "batch":
		return runBatch(w)
	case "pingpong":
		return runPingPong(w)
	default:
		return runSelect(w)
	}
}

// ---- main -------------------------------------------------------------------------

func main() {
	reps := flag.Int("reps", 5, "repetitions per workload")
	interleave := flag.Bool("interleave", false, "run the repetitions of all workloads interleaved in random order (as weft_bench's --benchmark_enable_random_interleaving)")
	filter := flag.String("filter", "", "only the workloads whose name (chan/4x4_cap1024/go) matches this regexp")
	out := flag.String("out", "", "JSON output file (default stdout)")
	flag.Parse()
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "weftgo: -reps needs a positive integer")
		os.Exit(2)
	}
	var re *regexp.Regexp
	if *filter != "" {
		var err error
		if re, err = regexp.Compile(*filter); err != nil {
			fmt.Fprintf(os.Stderr, "weftgo: bad -filter: %v\n", err)
			os.Exit(2)
		}
	}
	progress := os.Getenv("WEFT_BENCH_PROGRESS") == "1"
	timeout := time.Duration(envU64("WEFT_BENCH_TIMEOUT_S", 300)) * time.Second

	// The runs to make: every repetition of every selected workload, in
	// workload order, or shuffled with -interleave.
	type run struct {
		w workload
		k int
	}
	var runs []run
	for _, w := range workloads {
		if re != nil && !re.MatchString(w.group+"/"+w.name+"/go") {
			continue
		}
		for k := 0; k < *reps; k++ {
			runs = append(runs, run{w, k})
		}
	}
	if *interleave {
		rand.Seed(time.Now().UnixNano())
		rand.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	}

	var records []map[string]any
	failed := 0
	dead := map[string]bool{} // workloads that failed: their other repetitions are skipped
	for _, ru := range runs {
		w, k := ru.w, ru.k
		name := w.group + "/" + w.name + "/go"
		if dead[name] {
			continue
		}
		runtime.GC() // outside the timed region
		watchdog := time.AfterFunc(timeout, func() {
			fmt.Fprintf(os.Stderr, "\nweftgo: %s did not finish within WEFT_BENCH_TIMEOUT_S (a hang?)\n", name)
			os.Exit(3)
		})
		r := runOne(w)
		watchdog.Stop()
		rec := map[string]any{
			"name": name, "run_name": name, "run_type": "iteration",
			"repetitions": *reps, "repetition_index": k, "threads": 1,
			"iterations": 1, "real_time": r.seconds * 1e3, "cpu_time": r.cpu * 1e3,
			"time_unit": "ms",
		}
		if r.err != "" {
			fmt.Fprintf(os.Stderr, "weftgo: %s FAILED: %s\n", name, r.err)
			rec["error_occurred"] = true
			rec["error_message"] = r.err
			failed++
			records = append(records, rec)
			dead[name] = true
			continue
		}
		if r.items > 0 && r.seconds > 0 {
			rec["items_per_second"] = r.items / r.seconds
			rec["msgs_per_s"] = r.items / r.seconds
			rec["ns_per_msg"] = r.seconds * 1e9 / r.items
			if r.cpu >= 0 {
				rec["cpu_s_per_Mmsg"] = r.cpu / (r.items / 1e6)
			}
		}
		for c, v := range r.counters {
			rec[c] = v
		}
		records = append(records, rec)
		if progress && r.items > 0 {
			fmt.Fprintf(os.Stderr, "  .. %s run %d: %.3g msgs/s\n", name, k+1, r.items/r.seconds)
		} else if progress {
			fmt.Fprintf(os.Stderr, "  .. %s run %d: %.3g s\n", name, k+1, r.seconds)
		}
	}

	doc := map[string]any{
		"context": map[string]any{
			"date":                   time.Now().Format(time.RFC3339),
			"go_version":             runtime.Version(),
			"gomaxprocs":             runtime.GOMAXPROCS(0),
			"num_cpus":               runtime.NumCPU(),
			"weft_bench_msgs":        strconv.FormatUint(sizeMsgs, 10),
			"weft_bench_slow_msgs":   strconv.FormatUint(sizeSlowMsgs, 10),
			"weft_bench_rtt_rounds":  strconv.FormatUint(sizeRTTRounds, 10),
			"weft_bench_select_msgs": strconv.FormatUint(sizeSelectMsgs, 10),
			"weft_bench_park_ms":     strconv.FormatUint(sizeParkMS, 10),
		},
		"benchmarks": records,
	}
	enc, _ := json.MarshalIndent(doc, "", "  ")
	enc = append(enc, '\n')
	if *out == "" {
		os.Stdout.Write(enc)
	} else if err := os.WriteFile(*out, enc, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "weftgo: %v\n", err)
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "weftgo: %d workload(s) FAILED\n", failed)
		os.Exit(1)
	}
}
