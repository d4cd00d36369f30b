package loadtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Report is the result of a load test run.
type Report struct {
	Started        time.Time  `json:"started"`
	Devices        int        `json:"devices"`
	Profile        string     `json:"profile"`
	Gateways       int        `json:"gateways"`
	DupFraction    float64    `json:"dup_fraction"`
	StepSeconds    float64    `json:"step_seconds"`
	MaxLossPercent float64    `json:"max_loss_percent"`
	Cores          int        `json:"cores"`
	LoadAvgStart   [3]float64 `json:"load_avg_start"`
	LoadAvgEnd     [3]float64 `json:"load_avg_end"`
	MQTT           bool       `json:"mqtt"`
	// IdleRSSBytes is VmRSS of the idle daemon with all devices loaded,
	// after SettleSeconds.
	IdleRSSBytes     uint64 `json:"idle_rss_bytes"`
	IdleRSSAnonBytes uint64 `json:"idle_rss_anon_bytes"` // RssAnon: heap, stacks
	IdleRSSFileBytes uint64 `json:"idle_rss_file_bytes"` // RssFile: the binary's mapped pages
	IdleHeapBytes    uint64 `json:"idle_heap_inuse_bytes"`
	// IdleCPUPercent is the idle daemon's CPU use (of one core), the
	// floor under every step's CPU figure.
	IdleCPUPercent float64 `json:"idle_cpu_percent"`
	SettleSeconds  float64 `json:"settle_seconds"`
	Steps          []Step  `json:"steps"`
	// MaxSustainedRate is the highest rate (uplinks/s, the rate actually
	// sent if the generator fell short) of a step that lost less than
	// MaxLossPercent; 0 if none did.
	MaxSustainedRate float64 `json:"max_sustained_rate"`
}

// Step is one rate held for StepSeconds. Counts are deltas over the step
// and its drain.
type Step struct {
	Rate       float64 `json:"rate"`      // target, uplinks/s
	SentRate   float64 `json:"sent_rate"` // achieved by the generator
	Uplinks    int     `json:"uplinks"`   // distinct uplinks sent
	Datagrams  int     `json:"datagrams"` // PUSH_DATA, counting a second gateway's copy
	SendErrors int64   `json:"send_errors"`
	// Stored is the rise of loraedge_ingest_uplinks_total{result="stored"}.
	Stored      int64   `json:"stored"`
	LossPercent float64 `json:"loss_percent"`
	NetworkOK   int64   `json:"network_ok"`
	DedupMerge  int64   `json:"dedup_merged"`
	// CPUSeconds is the daemon's utime+stime over the step and its drain.
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUMsPerUplink float64 `json:"cpu_ms_per_uplink"`
	CPUPercent     float64 `json:"cpu_percent"` // of one core, over WallSeconds (step and drain)
	WallSeconds    float64 `json:"wall_seconds"`
	// Latency from first UDP reception to durably stored, estimated from
	// the bucketed histogram loraedge_ingest_latency_seconds by linear
	// interpolation inside a bucket; it includes the dedup window.
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencySamples int64   `json:"latency_samples"`
	RSSBytes       uint64  `json:"rss_bytes"`
	RSSPeakBytes   uint64  `json:"rss_peak_bytes"` // VmHWM since start
	Drops          Drops   `json:"drops"`
	// MQTTMeasurements is how many measurement messages arrived on the
	// broker during the step (nil without MQTT); MQTTUplinks divides by
	// the measurements per uplink.
	MQTTMeasurements *int64  `json:"mqtt_measurements,omitempty"`
	MQTTUplinks      float64 `json:"mqtt_uplinks,omitempty"`
	// MQTTLatency is from the first UDP reception (the measurement's time)
	// to arrival at the load test's subscriber, exact (nearest rank).
	MQTTLatencyP50Ms float64 `json:"mqtt_latency_p50_ms,omitempty"`
	MQTTLatencyP99Ms float64 `json:"mqtt_latency_p99_ms,omitempty"`
	LoadAvg1         float64 `json:"load_avg_1"`
}

// Drops counts what was lost where.
type Drops struct {
	Kernel     int64 `json:"kernel"`     // UDP socket receive buffer full (/proc/net/udp)
	SemtechUDP int64 `json:"semtechudp"` // loraedge_semtechudp_frames_dropped_total
	Network    int64 `json:"network"`    // loraedge_network_uplinks_total{result="dropped"}
	Ingest     int64 `json:"ingest"`     // loraedge_ingest_queue_dropped_total
}

// Sustained reports whether the step lost less than limit percent.
func (s Step) Sustained(limit float64) bool { return s.Uplinks > 0 && s.LossPercent < limit }

func (r *Report) maxSustained() {
	r.MaxSustainedRate = 0
	for _, s := range r.Steps {
		if !s.Sustained(r.MaxLossPercent) {
			continue
		}
		// A generator that fell short by more than rounding sustained
		// only what it sent.
		rate := s.Rate
		if s.SentRate > 0 && s.SentRate < 0.98*rate {
			rate = s.SentRate
		}
		if rate > r.MaxSustainedRate {
			r.MaxSustainedRate = rate
		}
	}
}

// JSON is the report as indented JSON.
func (r Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

const header = "  rate/s  sent/s   uplinks   stored   loss %  cpu ms/up  cpu %  p50 ms  p99 ms  rss MiB  peak MiB  drops k/udp/net/ing  load1"

func (s Step) line() string {
	mq := ""
	if s.MQTTMeasurements != nil {
		mq = fmt.Sprintf("  mqtt %.0f uplinks, p50 %.0f ms, p99 %.0f ms", s.MQTTUplinks, s.MQTTLatencyP50Ms, s.MQTTLatencyP99Ms)
	}
	return fmt.Sprintf("%8.0f %7.0f %9d %8d %8.3f %10.3f %6.0f %7.0f %7.0f %8.1f %9.1f  %4d/%d/%d/%d %9.2f%s",
		s.Rate, s.SentRate, s.Uplinks, s.Stored, s.LossPercent, s.CPUMsPerUplink, s.CPUPercent,
		s.LatencyP50Ms, s.LatencyP99Ms, mib(float64(s.RSSBytes)), mib(float64(s.RSSPeakBytes)),
		s.Drops.Kernel, s.Drops.SemtechUDP, s.Drops.Network, s.Drops.Ingest, s.LoadAvg1, mq)
}

// String is the report as a text table.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loraedge load test %s: %d ABP devices (%s), %d gateways, %.0f %% of uplinks heard twice, %.0fs per step, %d cores\n",
		r.Started.Format(time.RFC3339), r.Devices, r.Profile, r.Gateways, 100*r.DupFraction, r.StepSeconds, r.Cores)
	fmt.Fprintf(&b, "load average at start %.2f %.2f %.2f, at end %.2f %.2f %.2f (other processes share the cores)\n",
		r.LoadAvgStart[0], r.LoadAvgStart[1], r.LoadAvgStart[2], r.LoadAvgEnd[0], r.LoadAvgEnd[1], r.LoadAvgEnd[2])
	fmt.Fprintf(&b, "idle: RSS %.1f MiB (anon %.1f, file %.1f), Go heap in use %.1f MiB, CPU %.1f %% (after %.1fs)\n",
		mib(float64(r.IdleRSSBytes)), mib(float64(r.IdleRSSAnonBytes)), mib(float64(r.IdleRSSFileBytes)),
		mib(float64(r.IdleHeapBytes)), r.IdleCPUPercent, r.SettleSeconds)
	b.WriteString(header + "\n")
	for _, s := range r.Steps {
		b.WriteString(s.line() + "\n")
	}
	fmt.Fprintf(&b, "max sustained rate (loss < %g %%): %.0f uplinks/s\n", r.MaxLossPercent, r.MaxSustainedRate)
	b.WriteString("cpu: the daemon's utime+stime per stored uplink (one core = 100 %); latency: first UDP reception to stored, " +
		"from the bucketed histogram (interpolated), dedup window included; drops: kernel socket / semtechudp queue / network queue / ingest queue\n")
	return b.String()
}
