package webtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

const dashboardFile = "../../deploy/grafana/loraedge.json"

type dashboard struct {
	Templating struct {
		List []struct {
			Type, Name, Query string
			Datasource        *struct{ Type, UID string }
		}
	}
	Panels []struct {
		Type, Title string
		Datasource  *struct{ Type, UID string }
		Targets     []struct {
			Query      string
			Datasource struct{ Type, UID string }
		}
	}
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

var selectRE = regexp.MustCompile(`SELECT .*?\("?(\w+)"?\)\)? FROM "(\w+)"`)

// The dashboard's queries name fields and measurements as internal/influx
// writes them, and every query goes through the datasource variable.
func TestDashboardMatchesLayout(t *testing.T) {
	d := loadDashboard(t)
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Type == "datasource" {
			assert.Equal(t, "DS", v.Name)
			assert.Equal(t, "influxdb", v.Query)
		}
	}
	require.Contains(t, vars, "DS")
	n := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotNil(t, p.Datasource, p.Title)
		assert.Equal(t, "${DS}", p.Datasource.UID, p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			assert.Equal(t, "${DS}", tg.Datasource.UID, p.Title)
			m := selectRE.FindStringSubmatch(tg.Query)
			require.NotNil(t, m, "%s: %s", p.Title, tg.Query)
			q := measurement.Quantity(m[1])
			_, known := influx.Families[q]
			assert.True(t, known, "%s: unknown quantity %s", p.Title, q)
			assert.Equal(t, influx.Family(q), m[2], "%s: %s is written to %s", p.Title, q, influx.Family(q))
			assert.Contains(t, tg.Query, "$timeFilter", p.Title)
			for _, v := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(tg.Query, -1) {
				if !strings.HasPrefix(v[1], "_") && v[1] != "timeFilter" && !strings.HasPrefix(v[1], "tag") {
					assert.Contains(t, vars, v[1], "%s uses an undefined variable", p.Title)
				}
			}
			n++
		}
	}
	assert.GreaterOrEqual(t, n, 12)
}

// Every query of the dashboard returns data from an InfluxDB 1.8 that the
// real sink filled from a real store.
func TestDashboardQueriesInfluxDB(t *testing.T) {
	db := testserver.StartInfluxDB(t)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now().Truncate(time.Minute)
	var ms []measurement.Measurement
	add := func(dev, site string, q measurement.Quantity, at time.Time, v float64) {
		ms = append(ms, measurement.Measurement{Device: dev, Quantity: q, Unit: measurement.Units[q], Time: at, Value: v,
			Meta: map[string]string{"site": site}})
	}
	for i := 0; i < 3*24*4; i++ {
		at := now.Add(-time.Duration(i) * 15 * time.Minute)
		add("70b3d57ed0001001", "k23-bruecke", measurement.RoadSurfaceTemperature, at, -0.5+float64(i%8)/4)
		add("70b3d57ed0001001", "k23-bruecke", measurement.AirTemperature, at, 1)
		add("70b3d57ed0001001", "k23-bruecke", measurement.DewPoint, at, -1)
		add("70b3d57ed0001001", "k23-bruecke", measurement.RoadSurfaceState, at, 32)
		add("70b3d57ed0001001", "k23-bruecke", measurement.WaterFilmHeight, at, 0.12)
		add("a840410000002001", "gs-nord", measurement.CO2, at, 800)
		add("a840410000002002", "gs-nord", measurement.PM2_5, at, 12)
		add("a840410000002002", "gs-nord", measurement.PM10, at, 20)
		k := float64(3*24*4 - i)
		add("0004a30000003001", "rathaus", measurement.EnergyActiveImport, at, 15000+k*0.5)
		add("0004a30000003002", "rathaus", measurement.HeatEnergy, at, 90000+k*3)
		add("0004a30000003003", "rathaus", measurement.WaterVolume, at, 1200+k*0.01)
		add("0004a30000003004", "rathaus", measurement.GasVolume, at, 5000+k*0.1)
	}
	require.NoError(t, st.Append(context.Background(), ms))

	cfg := influx.DefaultConfig()
	cfg.Enabled, cfg.URL, cfg.Token, cfg.Org, cfg.Bucket = true, db.URL, db.Token, db.Org, db.Bucket
	sink, err := influx.New(st, cfg, influx.Options{GatewayID: "b827ebfffe123456"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sink.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	query := func(q string) [][]any {
		t.Helper()
		u := db.URL + "/query?db=" + db.Database + "&epoch=s&q=" + url.QueryEscape(q)
		resp, err := http.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out struct {
			Results []struct {
				Error  string
				Series []struct{ Values [][]any }
			}
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, out.Results, 1)
		require.Empty(t, out.Results[0].Error, q)
		var rows [][]any
		for _, s := range out.Results[0].Series {
			for _, v := range s.Values {
				if len(v) > 1 && v[1] != nil {
					rows = append(rows, v)
				}
			}
		}
		return rows
	}
	require.Eventually(t, func() bool {
		r := query(`SELECT count("gas_volume") FROM "meter"`)
		return len(r) == 1 && r[0][1] == float64(3*24*4)
	}, 30*time.Second, 100*time.Millisecond, "the sink delivers every point")

	// Grafana's macros and variables as it would expand them.
	expand := strings.NewReplacer("$timeFilter", "time > now() - 3d", "$__interval", "15m",
		"$road_site", "(k23-bruecke)", "$aq_site", "(gs-nord)", "$meter_site", "(rathaus)")
	d := loadDashboard(t)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			assert.NotEmpty(t, query(v.Query), "variable %s has no values", v.Name)
		}
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			rows := query(expand.Replace(tg.Query))
			assert.NotEmpty(t, rows, "%s: %s", p.Title, tg.Query)
			if strings.Contains(tg.Query, "non_negative_difference") {
				// 96 readings a day, each day's last minus the day before's.
				for _, r := range rows {
					assert.Greater(t, r[1], 0.0, p.Title)
				}
			}
		}
	}
	// The daily electricity bar: 96 quarter hours of 0.5 kWh.
	rows := query(expand.Replace(`SELECT non_negative_difference(last("energy_active_import")) FROM "meter" WHERE "site" =~ /^$meter_site$/ AND $timeFilter GROUP BY time(1d), "site", "device" fill(none) tz('Europe/Berlin')`))
	require.NotEmpty(t, rows)
	assert.InDelta(t, 48.0, rows[0][1], 0.01, "a full day is 96 x 0.5 kWh")
}
