package influx

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
)

// Reader queries the points the sinks of all gateways wrote, with Flux,
// and returns them in the store's shapes, so a report can take either
// source through one small interface of its own, e.g.
//
//	type Source interface {
//		Range(ctx context.Context, keys []string, from, to time.Time) ([]store.Series, error)
//		Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateSeries, error)
//	}
//
// Keys are store series keys ("device/quantity" or
// "device/quantity/channel"). Series are combined over the gateway and site
// tags; a point several gateways wrote at the same time counts once.
type Reader struct {
	client influxdb2.Client
	query  api.QueryAPI
	bucket string
}

// NewReader connects a Reader with cfg (whose Enabled is ignored: a central
// server may read what gateways wrote without running a sink itself).
func NewReader(cfg Config) (*Reader, error) {
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("influx reader: %w", err)
	}
	c := newClient(cfg)
	return &Reader{client: c, query: c.QueryAPI(cfg.Org), bucket: cfg.Bucket}, nil
}

// Close releases the HTTP client.
func (r *Reader) Close() { r.client.Close() }

type seriesKey struct {
	device  string
	q       measurement.Quantity
	channel int
}

func parseKey(k string) (seriesKey, error) {
	parts := strings.Split(k, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return seriesKey{}, fmt.Errorf("series key %q: want device/quantity[/channel]", k)
	}
	sk := seriesKey{device: parts[0], q: measurement.Quantity(parts[1])}
	if len(parts) == 3 {
		ch, err := strconv.Atoi(parts[2])
		if err != nil || ch == 0 {
			return seriesKey{}, fmt.Errorf("series key %q: bad channel", k)
		}
		sk.channel = ch
	}
	return sk, nil
}

func (k seriesKey) String() string {
	return measurement.Measurement{Device: k.device, Quantity: k.q, Channel: k.channel}.SeriesKey()
}

// fluxString quotes s as a Flux string literal ("${" would interpolate).
func fluxString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// source returns the Flux pipeline shared by both queries: the points of
// keys in [from, to), one table per series, sorted by time and without
// duplicate times. InfluxDB 1.8 includes points at the range's stop, so
// the filter excludes them again. A non-empty bucket expression adds a "bucket" column and
// splits the tables by it.
func (r *Reader) source(keys []seriesKey, from, to time.Time, bucket string) string {
	var f strings.Builder
	for i, k := range keys {
		if i > 0 {
			f.WriteString(" or ")
		}
		fmt.Fprintf(&f, "(r._measurement == %s and r._field == %s and r.device == %s and ",
			fluxString(Family(k.q)), fluxString(string(k.q)), fluxString(k.device))
		if k.channel == 0 {
			f.WriteString("not exists r.channel)")
		} else {
			fmt.Fprintf(&f, "r.channel == %s)", fluxString(strconv.Itoa(k.channel)))
		}
	}
	mapBucket, groupBucket := "", ""
	if bucket != "" {
		mapBucket = fmt.Sprintf("  |> map(fn: (r) => ({r with bucket: %s}))\n", bucket)
		groupBucket = `, "bucket"`
	}
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._time < %s and (%s))
%s  |> group(columns: ["device", "_field", "channel", "unit"%s])
  |> sort(columns: ["_time"])
  |> unique(column: "_time")
`, fluxString(r.bucket), fluxTime(from), fluxTime(to), fluxTime(to), f.String(), mapBucket, groupBucket)
}

func parseKeys(keys []string) ([]seriesKey, error) {
	out := make([]seriesKey, 0, len(keys))
	for _, k := range keys {
		sk, err := parseKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, sk)
	}
	return out, nil
}

// recordKey reads the series identity of a Flux record.
func recordKey(vals map[string]any) (seriesKey, string) {
	str := func(k string) string { s, _ := vals[k].(string); return s }
	sk := seriesKey{device: str("device"), q: measurement.Quantity(str("_field"))}
	if ch := str("channel"); ch != "" {
		sk.channel, _ = strconv.Atoi(ch)
	}
	return sk, str("unit")
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func info(k seriesKey, unit string) store.SeriesInfo {
	return store.SeriesInfo{Key: k.String(), Device: k.device, Quantity: k.q, Channel: k.channel, Unit: unit}
}

// Range returns the raw points of each series in [from, to), in the order
// of keys. Series without points in the range are left out (the store
// leaves out only series it never saw; InfluxDB has no such registry).
func (r *Reader) Range(ctx context.Context, keys []string, from, to time.Time) ([]store.Series, error) {
	sks, err := parseKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("influx range: %w", err)
	}
	if len(sks) == 0 || !from.Before(to) {
		return nil, nil
	}
	q := r.source(sks, from, to, "") + `  |> keep(columns: ["_time", "_value", "device", "_field", "channel", "unit"])` + "\n"
	res, err := r.query.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("influx range: %w", err)
	}
	defer res.Close()
	got := map[seriesKey]*store.Series{}
	for res.Next() {
		rec := res.Record()
		sk, unit := recordKey(rec.Values())
		s := got[sk]
		if s == nil {
			s = &store.Series{SeriesInfo: info(sk, unit)}
			got[sk] = s
		}
		v, ok := toFloat(rec.Value())
		if !ok {
			continue // a non-numeric field some other writer put there
		}
		s.Points = append(s.Points, store.Point{Time: rec.Time().UTC(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx range: %w", err)
	}
	var out []store.Series
	for _, sk := range sks {
		if s := got[sk]; s != nil {
			out = append(out, *s)
			delete(got, sk) // a key given twice is returned once
		}
	}
	return out, nil
}

// bucketExpr returns a Flux expression giving the bucket index of r._time:
// arithmetic for equal buckets, else a balanced tree of comparisons.
func bucketExpr(edges []time.Time, every time.Duration) string {
	if every > 0 {
		return fmt.Sprintf("(int(v: r._time) - %d) / %d", edges[0].UnixNano(), int64(every))
	}
	var tree func(lo, hi int) string
	tree = func(lo, hi int) string {
		if hi-lo == 1 {
			return strconv.Itoa(lo)
		}
		mid := (lo + hi) / 2
		return fmt.Sprintf("(if r._time < %s then %s else %s)", fluxTime(edges[mid]), tree(lo, mid), tree(mid, hi))
	}
	return tree(0, len(edges)-1)
}

// aggregateReduce folds a bucket's sorted points; inc sums the rises
// inside the bucket (a drop is a reset: the new value is the rise). The
// rise from the previous bucket's last point is added in Go.
const aggregateReduce = `  |> reduce(identity: {n: 0, sum: 0.0, min: 0.0, max: 0.0, first: 0.0, last: 0.0, inc: 0.0},
       fn: (r, accumulator) => ({
         n: accumulator.n + 1,
         sum: accumulator.sum + r._value,
         min: if accumulator.n == 0 or r._value < accumulator.min then r._value else accumulator.min,
         max: if accumulator.n == 0 or r._value > accumulator.max then r._value else accumulator.max,
         first: if accumulator.n == 0 then r._value else accumulator.first,
         last: r._value,
         inc: if accumulator.n == 0 then 0.0 else if r._value >= accumulator.last then accumulator.inc + r._value - accumulator.last else accumulator.inc + r._value,
       }))
`

// Aggregate computes per-interval aggregates like store.Aggregate: the
// same buckets (Every from From, or Bounds), NaN for empty buckets'
// Min/Max/Mean/First/Last, Increase with counter resets and the rise from
// the last point within Lookback before the first bucket. The folding
// runs in InfluxDB; only one row per series and bucket comes back.
func (r *Reader) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateSeries, error) {
	sks, err := parseKeys(q.Keys)
	if err != nil {
		return nil, fmt.Errorf("influx aggregate: %w", err)
	}
	edges, every := q.Bounds, time.Duration(0)
	if len(edges) == 0 {
		if q.Every <= 0 || !q.From.Before(q.To) {
			return nil, fmt.Errorf("influx aggregate: need Bounds or Every > 0 and From < To")
		}
		if n := q.To.Sub(q.From) / q.Every; n > maxBuckets {
			return nil, fmt.Errorf("influx aggregate: %d buckets, at most %d", n, maxBuckets)
		}
		every = q.Every
		for t := q.From; t.Before(q.To); t = t.Add(q.Every) {
			edges = append(edges, t)
		}
		edges = append(edges, q.To)
	}
	if len(edges) < 2 {
		return nil, fmt.Errorf("influx aggregate: need at least two bounds")
	}
	for i := 1; i < len(edges); i++ {
		if !edges[i].After(edges[i-1]) {
			return nil, fmt.Errorf("influx aggregate: bounds not ascending at %d", i)
		}
	}
	if len(sks) == 0 {
		return nil, nil
	}
	prev, err := r.lookback(ctx, sks, edges[0], q.Lookback)
	if err != nil {
		return nil, err
	}
	flux := r.source(sks, edges[0], edges[len(edges)-1], bucketExpr(edges, every)) + aggregateReduce
	res, err := r.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("influx aggregate: %w", err)
	}
	defer res.Close()
	nb := len(edges) - 1
	got := map[seriesKey]*store.AggregateSeries{}
	for res.Next() {
		vals := res.Record().Values()
		sk, unit := recordKey(vals)
		s := got[sk]
		if s == nil {
			s = &store.AggregateSeries{SeriesInfo: info(sk, unit), Buckets: emptyBuckets(edges)}
			got[sk] = s
		}
		bi, ok := vals["bucket"].(int64)
		if !ok || bi < 0 || bi >= int64(nb) {
			continue
		}
		n, _ := vals["n"].(int64)
		f := func(k string) float64 { v, _ := toFloat(vals[k]); return v }
		b := &s.Buckets[bi]
		b.Count = int(n)
		b.Sum, b.Min, b.Max = f("sum"), f("min"), f("max")
		b.First, b.Last, b.Increase = f("first"), f("last"), f("inc")
		if n > 0 {
			b.Mean = b.Sum / float64(n)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx aggregate: %w", err)
	}
	var out []store.AggregateSeries
	for _, sk := range sks {
		s := got[sk]
		if s == nil {
			continue
		}
		delete(got, sk)
		// Rise from the previous non-empty bucket's last point (or the
		// last point before the range) to this bucket's first, as the
		// store counts it.
		last, have := prev[sk]
		for i := range s.Buckets {
			b := &s.Buckets[i]
			if b.Count == 0 {
				continue
			}
			if have {
				if d := b.First - last; d >= 0 {
					b.Increase += d
				} else {
					b.Increase += b.First
				}
			}
			last, have = b.Last, true
		}
		out = append(out, *s)
	}
	return out, nil
}

// maxBuckets bounds the buckets of one query, as the store does.
const maxBuckets = 1 << 20

// lookback returns the last value of each series in [from-lookback, from)
// (default 7 days, none when negative, as store.AggregateQuery.Lookback),
// so the first bucket's Increase includes the rise since then.
func (r *Reader) lookback(ctx context.Context, sks []seriesKey, from time.Time, lookback time.Duration) (map[seriesKey]float64, error) {
	if lookback == 0 {
		lookback = 7 * 24 * time.Hour
	}
	out := map[seriesKey]float64{}
	if lookback < 0 {
		return out, nil
	}
	res, err := r.query.Query(ctx, r.source(sks, from.Add(-lookback), from, "")+"  |> last()\n")
	if err != nil {
		return nil, fmt.Errorf("influx aggregate: lookback: %w", err)
	}
	defer res.Close()
	for res.Next() {
		sk, _ := recordKey(res.Record().Values())
		if v, ok := toFloat(res.Record().Value()); ok {
			out[sk] = v
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx aggregate: lookback: %w", err)
	}
	return out, nil
}

func emptyBuckets(edges []time.Time) []store.Bucket {
	nan := math.NaN()
	bs := make([]store.Bucket, len(edges)-1)
	for i := range bs {
		bs[i] = store.Bucket{Start: edges[i], End: edges[i+1], Min: nan, Max: nan, Mean: nan, First: nan, Last: nan}
	}
	return bs
}
