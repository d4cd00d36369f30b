// Package loadtest measures the whole daemon under rising uplink rates: it
// starts a built loraedge binary as a child process with N ABP devices,
// plays real GWMP PUSH_DATA over loopback UDP from several virtual
// gateways (real AES encryption and MICs, distinct FCnts, some frames
// heard twice so dedup works), and reads what the daemon did from its own
// /metrics and from /proc: uplinks stored, loss, CPU time per uplink
// (the child's only, not the generator's), latency from first UDP
// reception to durably stored, memory, and drops at every queue.
//
// The figures are for the machine they ran on: the generator shares its
// cores with the daemon, so on a small machine the daemon gets less than
// all of them.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/backoff"
)

// Options configures a load test run. The zero value of every field but
// Binary takes the default in brackets.
type Options struct {
	// Binary is the path of a built loraedge binary (required).
	Binary string
	// Devices is the number of ABP devices in the daemon's configuration
	// and in the generator (1000).
	Devices int
	// Profile is the devices' firmware profile; the generator sends
	// generic/road-station payloads (fPort 10, 12 bytes), so only change it
	// for a profile that decodes those ("generic/road-station").
	Profile string
	// Gateways is the number of virtual packet forwarders (4).
	Gateways int
	// DupFraction is the share of uplinks heard by a second gateway (0.5);
	// negative means none.
	DupFraction float64
	// Rates are the steps in uplinks/s, in order (500, 1000, 2000, 4000,
	// 6000, 8000).
	Rates []float64
	// StepDuration is how long each rate is sent (10s).
	StepDuration time.Duration
	// Settle is the least time the idle daemon is left alone before its
	// memory is read; it then waits (up to 3 x Settle) until the daemon
	// uses no CPU for a second (3s).
	Settle time.Duration
	// Burst is how far behind its schedule a virtual gateway may catch up
	// at once, e.g. after the generator was descheduled (5ms of its rate).
	Burst time.Duration
	// DrainQuiet: after a step, the stored count is read until it reaches
	// what was sent or has not risen for DrainQuiet (1s), at most DrainMax
	// (10s).
	DrainQuiet time.Duration
	DrainMax   time.Duration
	// MaxLossPercent is the most loss a step may have to count as
	// sustained (0.1).
	MaxLossPercent float64
	// StopLossPercent ends the run after a step that lost more (5); the
	// higher rates would only lose more.
	StopLossPercent float64
	// MQTTURL, when set, configures the daemon's MQTT sink to that broker
	// and counts the measurements arriving on MQTTTopic.
	MQTTURL string
	// MQTTTopic is subscribed to count published measurements
	// ("loraedge/+/device/+/measurement").
	MQTTTopic string
	// MeasurementsPerUplink converts MQTT messages to uplinks (6 for
	// generic/road-station).
	MeasurementsPerUplink int
	// ExtraConfig is YAML added to the daemon's configuration file (e.g.
	// "store:\n  commit_interval: 100ms\n").
	ExtraConfig string
	// DataDir is the daemon's data directory, empty or absent (a new
	// temporary directory, removed afterwards unless KeepDataDir).
	DataDir     string
	KeepDataDir bool
	// LogLevel of the daemon, whose log goes to DataDir/daemon.log ("warn").
	LogLevel string
	// StartTimeout bounds the daemon's start (30s).
	StartTimeout time.Duration
	// Progress, if set, gets one line per phase and step while running.
	Progress io.Writer
}

func (o *Options) defaults() error {
	if o.Binary == "" {
		return errors.New("loadtest: Options.Binary (a built loraedge binary) is required")
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return fmt.Errorf("loadtest: binary: %w", err)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Devices, 1000)
	def(&o.Gateways, 4)
	def(&o.MeasurementsPerUplink, 6)
	defDur(&o.StepDuration, 10*time.Second)
	defDur(&o.Settle, 3*time.Second)
	defDur(&o.Burst, 5*time.Millisecond)
	defDur(&o.DrainQuiet, time.Second)
	defDur(&o.DrainMax, 10*time.Second)
	defDur(&o.StartTimeout, 30*time.Second)
	if o.Profile == "" {
		o.Profile = "generic/road-station"
	}
	if o.DupFraction == 0 {
		o.DupFraction = 0.5
	}
	if o.DupFraction < 0 {
		o.DupFraction = 0
	}
	if o.DupFraction > 1 {
		return fmt.Errorf("loadtest: DupFraction %v is more than 1", o.DupFraction)
	}
	if len(o.Rates) == 0 {
		o.Rates = []float64{500, 1000, 2000, 4000, 6000, 8000}
	}
	for _, r := range o.Rates {
		if r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return fmt.Errorf("loadtest: rate %v is not a positive number", r)
		}
	}
	if o.MaxLossPercent <= 0 {
		o.MaxLossPercent = 0.1
	}
	if o.StopLossPercent <= 0 {
		o.StopLossPercent = 5
	}
	if o.MQTTTopic == "" {
		o.MQTTTopic = "loraedge/+/device/+/measurement"
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return nil
}

// ParseRates reads a comma-separated list of uplinks/s, e.g.
// "500,1000,2000", for a command-line flag.
func ParseRates(s string) ([]float64, error) {
	var rs []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("rate %q: want a positive number of uplinks/s", f)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, errors.New("no rates")
	}
	return rs, nil
}

// snapshot is everything read about the daemon at one moment.
type snapshot struct {
	at      time.Time
	m       sample
	proc    procStat
	kdrops  uint64
	mqttMsg int64
}

func (r *runner) snap(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now()}
	var err error
	if s.m, err = r.c.metrics.scrape(ctx); err != nil {
		return s, err
	}
	if s.proc, err = readProc(r.c.pid); err != nil {
		return s, err
	}
	if s.kdrops, err = udpDrops(r.c.udp.Port); err != nil {
		return s, err
	}
	if r.mq != nil {
		s.mqttMsg = r.mq.count()
	}
	return s, nil
}

type runner struct {
	o     Options
	c     *child
	mq    *mqttCounter
	ticks float64
}

// Run starts the daemon, measures it idle and at every rate, stops it and
// returns the report. A report with the steps done so far comes with the
// error of a run that failed half way.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.defaults(); err != nil {
		return Report{}, err
	}
	rep := Report{
		Devices: o.Devices, Profile: o.Profile, Gateways: o.Gateways, DupFraction: o.DupFraction,
		StepSeconds: o.StepDuration.Seconds(), MaxLossPercent: o.MaxLossPercent, Cores: runtime.NumCPU(),
		Started: time.Now().UTC().Truncate(time.Second), LoadAvgStart: loadAvg(), MQTT: o.MQTTURL != "",
	}
	dir := o.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "loraedge-loadtest-")
		if err != nil {
			return rep, fmt.Errorf("data dir: %w", err)
		}
		dir = d
		if !o.KeepDataDir {
			defer os.RemoveAll(dir)
		}
	} else {
		// A used directory keeps the devices' FCnts: every uplink of the
		// new run would be a replay.
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			return rep, fmt.Errorf("data dir %s: must be empty or absent", dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return rep, fmt.Errorf("data dir: %w", err)
		}
	}
	devs := makeDevices(o.Devices)
	cfgFile := filepath.Join(dir, "loadtest.yaml")
	if err := writeConfig(cfgFile, devs, o); err != nil {
		return rep, fmt.Errorf("write config: %w", err)
	}
	fmt.Fprintf(o.Progress, "starting %s with %d devices in %s\n", o.Binary, o.Devices, dir)
	c, err := startChild(ctx, o, cfgFile, dir)
	if err != nil {
		return rep, err
	}
	r := &runner{o: o, c: c, ticks: clockTicks()}
	err = r.run(ctx, devs, &rep)
	if serr := c.stop(); serr != nil {
		err = errors.Join(err, serr)
	}
	if r.mq != nil {
		r.mq.close()
	}
	rep.LoadAvgEnd = loadAvg()
	rep.maxSustained()
	return rep, err
}

func (r *runner) run(ctx context.Context, devs []simDevice, rep *Report) error {
	o := r.o
	if o.MQTTURL != "" {
		mq, err := newMQTTCounter(ctx, o.MQTTURL, o.MQTTTopic)
		if err != nil {
			return err
		}
		r.mq = mq
	}
	if err := r.settle(ctx, rep); err != nil {
		return err
	}
	fmt.Fprintf(o.Progress, "idle: RSS %.1f MiB, Go heap in use %.1f MiB\n", mib(float64(rep.IdleRSSBytes)), mib(float64(rep.IdleHeapBytes)))

	gen, err := newGenerator(devs, o.Gateways, o.DupFraction, r.c.udp)
	if err != nil {
		return err
	}
	defer gen.close()
	if err := gen.pullData(); err != nil {
		return err
	}
	for _, rate := range o.Rates {
		plan, err := gen.plan(rate, o.StepDuration)
		if err != nil {
			return fmt.Errorf("build frames: %w", err)
		}
		// The generator's garbage from building is collected now, not
		// while it paces datagrams.
		runtime.GC()
		st, err := r.step(ctx, gen, plan, rate)
		if err != nil {
			return fmt.Errorf("step %v/s: %w", rate, err)
		}
		rep.Steps = append(rep.Steps, st)
		fmt.Fprintln(o.Progress, st.line())
		if st.LossPercent > o.StopLossPercent {
			fmt.Fprintf(o.Progress, "loss %.2f %% > %.2f %%: stopping\n", st.LossPercent, o.StopLossPercent)
			break
		}
	}
	return nil
}

// settle waits until the idle daemon is quiet, then reads its memory.
func (r *runner) settle(ctx context.Context, rep *Report) error {
	start := time.Now()
	if err := backoff.Sleep(ctx, r.o.Settle); err != nil {
		return err
	}
	first, err := readProc(r.c.pid)
	if err != nil {
		return err
	}
	firstAt, prev := time.Now(), first
	for time.Since(start) < 3*r.o.Settle {
		if err := backoff.Sleep(ctx, time.Second); err != nil {
			return err
		}
		cur, err := readProc(r.c.pid)
		if err != nil {
			return err
		}
		quiet := cur.CPUTicks-prev.CPUTicks <= 1
		prev = cur
		if quiet {
			break
		}
	}
	s, err := r.snap(ctx)
	if err != nil {
		return err
	}
	rep.IdleRSSBytes = s.proc.RSS
	rep.IdleRSSAnonBytes, rep.IdleRSSFileBytes = s.proc.RSSAnon, s.proc.RSSFile
	if secs := s.at.Sub(firstAt).Seconds(); secs > 0 {
		rep.IdleCPUPercent = 100 * float64(s.proc.CPUTicks-first.CPUTicks) / r.ticks / secs
	}
	rep.IdleHeapBytes = uint64(s.m[mHeapInuse])
	rep.SettleSeconds = time.Since(start).Seconds()
	return nil
}

// step plays one plan and measures it.
func (r *runner) step(ctx context.Context, gen *generator, p *stepPlan, rate float64) (Step, error) {
	before, err := r.snap(ctx)
	if err != nil {
		return Step{}, err
	}
	errsBefore := gen.sendErrs.Load()
	sendTime := gen.play(ctx, p, r.o.StepDuration, r.o.Burst)
	if err := ctx.Err(); err != nil {
		return Step{}, err
	}
	after, err := r.drain(ctx, before, p.Uplinks)
	if err != nil {
		return Step{}, err
	}
	if err := r.c.alive(); err != nil {
		return Step{}, err
	}
	st := Step{
		Rate:       rate,
		Uplinks:    p.Uplinks,
		Datagrams:  p.Datagrams,
		SendErrors: gen.sendErrs.Load() - errsBefore,
		Stored:     int64(after.m.delta(before.m, mStored)),
		NetworkOK:  int64(after.m.delta(before.m, mNetOK)),
		DedupMerge: int64(after.m.delta(before.m, mDedupMerged)),
		Drops: Drops{
			Kernel:     int64(after.kdrops - before.kdrops),
			SemtechUDP: int64(after.m.delta(before.m, mUDPDropped)),
			Network:    int64(after.m.delta(before.m, mNetDropped)),
			Ingest:     int64(after.m.delta(before.m, mIngestDropped)),
		},
		RSSBytes:     after.proc.RSS,
		RSSPeakBytes: after.proc.HWM,
		WallSeconds:  after.at.Sub(before.at).Seconds(),
		LoadAvg1:     loadAvg()[0],
	}
	if secs := sendTime.Seconds(); secs > 0 {
		st.SentRate = float64(p.Uplinks) / math.Max(secs, r.o.StepDuration.Seconds())
	}
	if st.Uplinks > 0 {
		st.LossPercent = 100 * float64(int64(st.Uplinks)-st.Stored) / float64(st.Uplinks)
	}
	cpu := float64(after.proc.CPUTicks-before.proc.CPUTicks) / r.ticks // seconds
	st.CPUSeconds = cpu
	if st.Stored > 0 {
		st.CPUMsPerUplink = 1000 * cpu / float64(st.Stored)
	}
	if st.WallSeconds > 0 {
		st.CPUPercent = 100 * cpu / st.WallSeconds
	}
	bs := histogramDelta(before.m, after.m, latencyBucket)
	if len(bs) > 0 {
		st.LatencySamples = int64(bs[len(bs)-1].Count)
	}
	st.LatencyP50Ms = finiteMs(quantile(0.5, bs))
	st.LatencyP99Ms = finiteMs(quantile(0.99, bs))
	if r.mq != nil {
		msgs := after.mqttMsg - before.mqttMsg
		st.MQTTMeasurements = &msgs
		st.MQTTUplinks = float64(msgs) / float64(r.o.MeasurementsPerUplink)
		q := r.mq.latencies(before.mqttMsg, 0.5, 0.99)
		st.MQTTLatencyP50Ms, st.MQTTLatencyP99Ms = finiteMs(q[0]), finiteMs(q[1])
	}
	return st, nil
}

// drain waits until the daemon has stored what was sent (and, with MQTT,
// published it), or its count has stopped rising.
func (r *runner) drain(ctx context.Context, before snapshot, sent int) (snapshot, error) {
	start := time.Now()
	last, lastChange := -1.0, time.Now()
	var lastMQ int64 = -1
	for {
		if err := backoff.Sleep(ctx, 200*time.Millisecond); err != nil {
			return snapshot{}, err
		}
		s, err := r.snap(ctx)
		if err != nil {
			return snapshot{}, err
		}
		stored := s.m.delta(before.m, mStored)
		done := stored >= float64(sent)
		if r.mq != nil {
			want := int64(sent * r.o.MeasurementsPerUplink)
			done = done && s.mqttMsg-before.mqttMsg >= want
		}
		if done {
			return s, nil
		}
		if stored != last || (r.mq != nil && s.mqttMsg != lastMQ) {
			last, lastMQ, lastChange = stored, s.mqttMsg, time.Now()
		}
		if time.Since(lastChange) >= r.o.DrainQuiet || time.Since(start) >= r.o.DrainMax {
			return s, nil
		}
	}
}

func finiteMs(s float64) float64 {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	return s * 1000
}

func mib(b float64) float64 { return b / (1 << 20) }
