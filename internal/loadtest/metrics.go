package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Metric names the load test reads from the daemon's /metrics.
const (
	mStored        = `loraedge_ingest_uplinks_total{result="stored"}`
	mIngestDropped = `loraedge_ingest_queue_dropped_total`
	mNetOK         = `loraedge_network_uplinks_total{result="ok"}`
	mNetDropped    = `loraedge_network_uplinks_total{result="dropped"}`
	mDedupMerged   = `loraedge_network_dedup_merged_total`
	mUDPDropped    = `loraedge_semtechudp_frames_dropped_total`
	mUDPFrames     = `loraedge_semtechudp_frames_received_total`
	mHeapInuse     = `go_memstats_heap_inuse_bytes`
	latencyBucket  = `loraedge_ingest_latency_seconds_bucket`
)

// sample is one scrape of /metrics: "name{labels}" -> value, as the text
// exposition format prints them (labels sorted by the client library).
type sample map[string]float64

func (s sample) delta(prev sample, name string) float64 { return s[name] - prev[name] }

// scraper reads the daemon's Prometheus metrics with the admin token.
type scraper struct {
	url    string
	token  string
	client *http.Client
}

func (c scraper) scrape(ctx context.Context) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format; comments and lines it
// cannot read are skipped.
func parseMetrics(r io.Reader) (sample, error) {
	s := sample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space (label values may hold
		// spaces, the value never does).
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		s[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return s, nil
}

// bucket is one cumulative histogram bucket: Count observations <= LE.
type bucket struct {
	LE    float64
	Count float64
}

// histogramDelta returns the buckets of histogram name (the _bucket
// series, no other labels) observed between prev and cur, by upper bound.
func histogramDelta(prev, cur sample, name string) []bucket {
	prefix := name + `{le="`
	var bs []bucket
	for k, v := range cur {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{LE: le, Count: v - prev[k]})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].LE < bs[j].LE })
	return bs
}

// quantile estimates the q-quantile from cumulative buckets by linear
// interpolation inside the bucket that holds it, as Prometheus'
// histogram_quantile does: the answer is only as fine as the buckets. A
// quantile in the +Inf bucket is reported as the highest finite bound.
// NaN when there are no observations.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].Count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range bs {
		if b.Count >= rank {
			if math.IsInf(b.LE, 1) {
				if i == 0 {
					return math.NaN()
				}
				return bs[i-1].LE
			}
			in := b.Count - below
			if in <= 0 {
				return b.LE
			}
			return lower + (b.LE-lower)*(rank-below)/in
		}
		lower, below = b.LE, b.Count
	}
	return bs[len(bs)-1].LE
}
