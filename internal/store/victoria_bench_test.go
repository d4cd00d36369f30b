package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// vmFeed imports every point of the store's series keys into
// VictoriaMetrics as <quantity>{device="..."} with millisecond times: the
// same float64 values at the same (whole-second) times as stored.
func vmFeed(b *testing.B, vm *testserver.VictoriaMetrics, st *store.Store, keys []string) int {
	b.Helper()
	var buf bytes.Buffer
	n := 0
	flush := func() {
		require.NoError(b, vm.Import(bytes.NewReader(buf.Bytes())))
		buf.Reset()
	}
	for _, k := range keys {
		res, err := st.Range(context.Background(), []string{k}, store.T0.AddDate(-1, 0, 0), store.T0.AddDate(2, 0, 0))
		require.NoError(b, err)
		require.Len(b, res, 1)
		for _, p := range res[0].Points {
			fmt.Fprintf(&buf, "%s{device=%q} %s %d\n", res[0].Quantity, res[0].Device, strconv.FormatFloat(p.Value, 'g', -1, 64), p.Time.UnixMilli())
			n++
			if buf.Len() > 4<<20 {
				flush()
			}
		}
	}
	flush()
	return n
}

// vmSettle flushes VictoriaMetrics' in-memory parts, merges every monthly
// partition into as few parts as it will (force_merge), and waits until no
// merge runs and the data size stayed the same for 3 s.
func vmSettle(b *testing.B, vm *testserver.VictoriaMetrics, points int) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := vm.Get("/internal/force_flush")
		require.NoError(b, err)
		rows, err := vm.Metric("vm_rows", `type="storage/`)
		require.NoError(b, err)
		if int(rows) >= points {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("VictoriaMetrics holds %v of %d rows after 2 min", rows, points)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, y := range []int{store.T0.Year(), store.T0.Year() + 1} {
		_, err := vm.Get(fmt.Sprintf("/internal/force_merge?partition_prefix=%d_", y))
		require.NoError(b, err)
	}
	last, stable := -1.0, 0
	for deadline := time.Now().Add(3 * time.Minute); stable < 6; time.Sleep(500 * time.Millisecond) {
		size, err := vm.Metric("vm_data_size_bytes", `type="storage/`)
		require.NoError(b, err)
		active, err := vm.Metric("vm_active_merges")
		require.NoError(b, err)
		if size == last && active == 0 {
			stable++
		} else {
			stable = 0
		}
		last = size
		if time.Now().After(deadline) {
			b.Fatalf("VictoriaMetrics still merging after 3 min")
		}
	}
}

// vmSizes returns VictoriaMetrics' encoded sample data (vm_data_size_bytes
// of its storage parts, the index not counted) and the blocks allocated
// under its data directory (index, caches and metadata included).
func vmSizes(b *testing.B, vm *testserver.VictoriaMetrics) (encoded, disk float64) {
	b.Helper()
	enc, err := vm.Metric("vm_data_size_bytes", `type="storage/`)
	require.NoError(b, err)
	u, err := du(vm.DataDir())
	require.NoError(b, err)
	return enc, float64(u.alloc)
}

// BenchmarkSideBySideVM feeds each data set into the store, InfluxDB 1.8
// (through the daemon's sink; one-year shards, the best layout; fully
// compacted) and VictoriaMetrics single-node (the points as stored;
// force_merge), and reports bytes per point on disk (what du allocates
// for each one's directories; for the store also the bbolt pages in use,
// storeB/point, which the budget counts) and of encoded data (store: chunk
// keys and values; InfluxDB: its TSM files; VictoriaMetrics: its storage
// parts, vm_data_size_bytes). make bench prints the table.
//
//	go test ./internal/store/ -run '^$' -bench SideBySideVM -benchtime 1x
func BenchmarkSideBySideVM(b *testing.B) {
	srv := testserver.StartInfluxDBWith(b, influxCold)
	for _, ds := range []struct {
		name string
		feed func(*sideBySide) ([]string, int)
	}{
		{"meter-15min-1y-20series", func(s *sideBySide) ([]string, int) { return s.meters(b, 20, 1) }},
		{"road-10min-1y-4stations", func(s *sideBySide) ([]string, int) { return s.roads(b) }},
		{"meter-15min-1y-200series", func(s *sideBySide) ([]string, int) { return s.meters(b, 200, 1) }},
	} {
		b.Run(ds.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				db := strings.NewReplacer("-", "_").Replace(ds.name) + "_" + strconv.Itoa(i)
				s := newSideBySide(b, srv, db, "52w", store.Options{})
				keys, pts := ds.feed(s)
				s.toInflux(b, pts)
				vm := testserver.StartVictoriaMetrics(b)
				require.Equal(b, pts, vmFeed(b, vm, s.st, keys))
				vmSettle(b, vm, pts)
				ist := s.waitCompacted(b)
				sdu, err := du(s.dir)
				require.NoError(b, err)
				vmEnc, vmDisk := vmSizes(b, vm)
				p := float64(pts)
				row := map[string]float64{
					"storeDuB/point":       float64(sdu.alloc) / p,
					"storeB/point":         float64(s.st.DiskUsage()) / p,
					"storeEncB/point":      float64(store.ChunkBytes(s.st)) / p,
					"influxB/point":        float64(ist.total.alloc) / p,
					"influxEncB/point":     float64(ist.tsmBytes) / p,
					"vmB/point":            vmDisk / p,
					"vmEncB/point":         vmEnc / p,
					"vm/store-encoded":     vmEnc / float64(store.ChunkBytes(s.st)),
					"influx/store-on-disk": float64(ist.total.alloc) / float64(sdu.alloc),
				}
				for k, v := range row {
					b.ReportMetric(v, k)
				}
				b.Logf("| %s | %d | %.2f (%.2f in use) | %.2f | %.2f | %.2f | %.2f | %.2f |", ds.name, pts,
					row["storeDuB/point"], row["storeB/point"], row["storeEncB/point"],
					row["influxB/point"], row["influxEncB/point"], row["vmB/point"], row["vmEncB/point"])
				vm.Stop()
			}
		})
	}
}

// vmMonthly asks VictoriaMetrics for the increase of every meter in each
// calendar month as the differences of the last reading before each month
// boundary (last_over_time, one instant query per boundary, and
// first_over_time for the first month, which has no reading before it):
// the benchmark's registers have no resets, so this is the store's
// Increase. (increase() over the month came out one reading short at a
// month boundary.)
func vmMonthly(vm *testserver.VictoriaMetrics, q measurement.Quantity, bounds []time.Time) (map[string][]float64, error) {
	instant := func(expr string, at time.Time) (map[string]float64, error) {
		path := "/api/v1/query?" + url.Values{
			"query": {expr},
			"time":  {strconv.FormatFloat(float64(at.UnixMilli())/1e3, 'f', 3, 64)},
		}.Encode()
		body, err := vm.Get(path)
		if err != nil {
			return nil, err
		}
		var res struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("victoria-metrics answer: %w", err)
		}
		out := map[string]float64{}
		for _, r := range res.Data.Result {
			s, _ := r.Value[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("victoria-metrics value %q: %w", s, err)
			}
			out[r.Metric["device"]+"/"+string(q)] = v
		}
		return out, nil
	}
	ms := func(d time.Duration) int64 { return int64(d / time.Millisecond) }
	prev, err := instant(fmt.Sprintf("first_over_time(%s[%dms])", q, ms(bounds[1].Sub(bounds[0]))), bounds[1].Add(-time.Millisecond))
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for m := 0; m+1 < len(bounds); m++ {
		last, err := instant(fmt.Sprintf("last_over_time(%s[%dms])", q, ms(bounds[m+1].Sub(bounds[m]))), bounds[m+1].Add(-time.Millisecond))
		if err != nil {
			return nil, err
		}
		for k, v := range last {
			if out[k] == nil {
				out[k] = make([]float64, len(bounds)-1)
			}
			out[k][m] = v - prev[k]
		}
		prev = last
	}
	return out, nil
}

// influxQLMonthly asks InfluxDB for the same with InfluxQL in one request
// (calendar months are no GROUP BY interval): the first reading, and the
// last reading before each month boundary, per device; the increases are
// their differences, as in vmMonthly.
func influxQLMonthly(srvURL, db string, q measurement.Quantity, bounds []time.Time) (map[string][]float64, error) {
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	stmts := []string{fmt.Sprintf(`SELECT first(%q) FROM %q WHERE time >= '%s' AND time < '%s' GROUP BY "device"`,
		string(q), influx.Family(q), f(bounds[0]), f(bounds[1]))}
	for m := 1; m < len(bounds); m++ {
		stmts = append(stmts, fmt.Sprintf(`SELECT last(%q) FROM %q WHERE time >= '%s' AND time < '%s' GROUP BY "device"`,
			string(q), influx.Family(q), f(bounds[m-1]), f(bounds[m])))
	}
	resp, err := http.Get(srvURL + "/query?" + url.Values{"db": {db}, "q": {strings.Join(stmts, ";")}, "epoch": {"s"}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res struct {
		Results []struct {
			StatementID int    `json:"statement_id"`
			Error       string `json:"error"`
			Series      []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]float64       `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("influxql answer: %w", err)
	}
	// vals[k][i]: the first reading (i = 0), then the last of month i-1.
	vals := map[string][]float64{}
	for _, r := range res.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("influxql: %s", r.Error)
		}
		for _, se := range r.Series {
			k := se.Tags["device"] + "/" + string(q)
			if vals[k] == nil {
				vals[k] = make([]float64, len(bounds))
			}
			if len(se.Values) == 1 && len(se.Values[0]) == 2 && r.StatementID < len(bounds) {
				vals[k][r.StatementID] = se.Values[0][1]
			}
		}
	}
	out := map[string][]float64{}
	for k, v := range vals {
		out[k] = make([]float64, len(bounds)-1)
		for m := range out[k] {
			out[k][m] = v[m+1] - v[m]
		}
	}
	return out, nil
}

// checkMonthly compares a system's monthly increases with the store's.
func checkMonthly(b *testing.B, name string, want []store.AggregateSeries, got map[string][]float64) {
	b.Helper()
	require.Len(b, got, len(want), name)
	for _, w := range want {
		require.Contains(b, got, w.Key, name)
		for m, wb := range w.Buckets {
			require.InDelta(b, wb.Increase, got[w.Key][m], 1e-6*math.Max(1, math.Abs(wb.Increase)), "%s %s %s", name, w.Key, wb.Start)
		}
	}
}
