package energy_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/report"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// The InfluxDB reader serves reports through RangeSource as the store does.
var _ energy.Ranger = (*influx.Reader)(nil)

// BenchmarkEnergyReport is the budget check of DESIGN.md: an energy report
// over 200 meters x 1 year of 15-minute readings in <= 1 s from the local
// store, and the same monthly aggregation through InfluxDB Flux beside it.
// 67 sites x 3 meters = 201 meters (35,041 readings each) plus one outdoor
// temperature series per site (for degree days): 9.4 M points.
//
//	go test -run '^$' -bench EnergyReport -benchtime 5x ./internal/energy
func BenchmarkEnergyReport(b *testing.B) {
	ctx := context.Background()
	const year = 2026
	var sites []site.Site
	for i := range 67 {
		sites = append(sites, site.Site{ID: fmt.Sprintf("geb-%02d", i), Name: fmt.Sprintf("Gebäude %02d", i), Kind: site.Building,
			BGF: float64(1200 + 60*i), NRF: float64(1000 + 50*i)})
	}
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	require.NoError(b, err)
	b.Cleanup(func() { st.Close() })
	t0 := time.Now()
	cfg, err := sim.GenerateYear(ctx, st, year, sites, sim.YearOptions{Anomalies: true})
	require.NoError(b, err)
	// A year of data in a running daemon sits in sealed chunks.
	require.NoError(b, st.Seal())
	b.Logf("setup: %d meters, year %d written to the store in %s", len(cfg.Meters), year, time.Since(t0).Round(time.Millisecond))
	opts := energy.Options{Config: cfg, Sites: sites}
	eng, err := energy.New(opts)
	require.NoError(b, err)
	from, to, err := eng.ParsePeriod(fmt.Sprint(year, "-01-01"), fmt.Sprint(year, "-12-31"))
	require.NoError(b, err)
	src := energy.RangeSource{Ranger: st}

	b.Run("store/report", func(b *testing.B) {
		for b.Loop() {
			rep, err := eng.Report(ctx, src, energy.Request{From: from, To: to})
			require.NoError(b, err)
			require.Len(b, rep.Sites, len(sites))
		}
	})
	b.Run("store/report+pdf", func(b *testing.B) {
		for b.Loop() {
			_, err := report.Energy(ctx, src, opts, report.EnergyRequest{From: fmt.Sprint(year, "-01-01"), To: fmt.Sprint(year, "-12-31"), Format: report.PDF, Lang: report.DE}, io.Discard)
			require.NoError(b, err)
		}
	})
	b.Run("store/aggregate-monthly-increase", func(b *testing.B) {
		// The store's own monthly "increase" over the same 201 series: the
		// figure comparable to the Flux query below.
		var keys []string
		for _, m := range eng.Meters() {
			keys = append(keys, m.Device+"/"+string(m.Medium.DefaultQuantity()))
		}
		for b.Loop() {
			as, err := st.Aggregate(ctx, store.AggregateQuery{Keys: keys, Bounds: store.MonthBounds(from, to, eng.Location())})
			require.NoError(b, err)
			require.Len(b, as, len(keys))
		}
	})

	b.Run("influx/flux-monthly-increase", func(b *testing.B) {
		db := testserver.StartInfluxDB(b)
		client := influxdb2.NewClientWithOptions(db.URL, db.Token, influxdb2.DefaultOptions().SetHTTPRequestTimeout(120))
		b.Cleanup(client.Close)
		t0 := time.Now()
		n := writeInflux(b, ctx, client, db, st, eng.Meters(), from, to)
		b.Logf("setup: %d meter points written to InfluxDB in %s", n, time.Since(t0).Round(time.Millisecond))

		// The same report for one site read through influx.Reader must give
		// the store's consumption (degree days aside: no temperatures there).
		icfg := influx.DefaultConfig()
		icfg.URL, icfg.Token, icfg.Org, icfg.Bucket, icfg.Timeout = db.URL, db.Token, db.Org, db.Bucket, 2*time.Minute
		rd, err := influx.NewReader(icfg)
		require.NoError(b, err)
		b.Cleanup(rd.Close)
		one := energy.Request{From: from, To: to, Sites: []string{sites[1].ID}}
		t0 = time.Now()
		viaInflux, err := eng.Report(ctx, energy.RangeSource{Ranger: rd}, one)
		require.NoError(b, err)
		b.Logf("report of one site (3 meters) read through influx.Reader: %s", time.Since(t0).Round(time.Millisecond))
		viaStore, err := eng.Report(ctx, src, one)
		require.NoError(b, err)
		for i, m := range viaStore.Sites[0].Media {
			require.InDelta(b, m.Consumption, viaInflux.Sites[0].Media[i].Consumption, 1e-6, m.Medium)
		}
		// Monthly consumption per meter: non-negative differences summed per
		// calendar month (UTC: Flux in InfluxDB 1.8 has no time zones).
		q := fmt.Sprintf(`from(bucket: %q)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "meter")
  |> difference(nonNegative: true)
  |> aggregateWindow(every: 1mo, fn: sum, createEmpty: false)`, db.Bucket, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		qa := client.QueryAPI(db.Org)
		for b.Loop() {
			res, err := qa.Query(ctx, q)
			require.NoError(b, err)
			rows := 0
			for res.Next() {
				rows++
			}
			require.NoError(b, res.Err())
			require.GreaterOrEqual(b, rows, 201*12)
		}
	})
}

// writeInflux copies the meter series from the store to InfluxDB in the
// line layout of internal/influx (measurement "meter", field = quantity).
func writeInflux(b *testing.B, ctx context.Context, client influxdb2.Client, db *testserver.InfluxDB, st *store.Store, meters []energy.MeterConfig, from, to time.Time) int {
	w := client.WriteAPIBlocking(db.Org, db.Bucket)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	total := 0
	for _, m := range meters {
		q := m.Medium.DefaultQuantity()
		ss, err := st.Range(ctx, []string{m.Device + "/" + string(q)}, from, to.Add(time.Second))
		require.NoError(b, err)
		require.Len(b, ss, 1)
		pts := ss[0].Points
		total += len(pts)
		prefix := "meter,device=" + m.Device + ",unit=" + ss[0].Unit + " " + string(q) + "="
		g.Go(func() error {
			const batch = 5000
			for i := 0; i < len(pts); i += batch {
				var sb strings.Builder
				for _, p := range pts[i:min(i+batch, len(pts))] {
					sb.WriteString(prefix)
					sb.WriteString(strconv.FormatFloat(p.Value, 'f', -1, 64))
					sb.WriteByte(' ')
					sb.WriteString(strconv.FormatInt(p.Time.UnixNano(), 10))
					sb.WriteByte('\n')
				}
				if err := w.WriteRecord(gctx, sb.String()); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(b, g.Wait())
	return total
}
