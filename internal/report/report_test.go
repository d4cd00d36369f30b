package report

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// loadReport reads the energy package's golden report (copied to
// testdata/input): two sites, four media, a replacement, a rollover, gaps
// and a leak month, so every renderer path has something to print.
func loadReport(t *testing.T) *energy.Report {
	t.Helper()
	b, err := os.ReadFile("testdata/input/report.json")
	require.NoError(t, err)
	var rep energy.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	return &rep
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "golden %s differs; check, then go test -update", p)
}

func TestGoldenCSVAndJSON(t *testing.T) {
	rep := loadReport(t)
	for _, tc := range []struct {
		f Format
		l Lang
	}{{CSV, DE}, {CSV, EN}, {JSON, EN}} {
		t.Run(string(tc.f)+"_"+string(tc.l), func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Render(&buf, rep, tc.f, tc.l))
			checkGolden(t, fmt.Sprintf("golden/report_%s%s", tc.l, tc.f.Ext()), buf.Bytes())
		})
	}
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, rep, CSV, DE))
	// German spreadsheets: semicolons, decimal comma; the June leak
	// month's water (4*30 + 14.4 = 134.4 m3) shows up as such.
	assert.Contains(t, buf.String(), "schule;Grundschule Süd;water;month;2025-06-01;2025-06-30;134,4;m3;0;;;0")
	assert.Contains(t, buf.String(), "schule;Grundschule Süd;electricity;total;2025-01-01;2025-12-31;36500;kWh;36500;11070;14600;0")
}

func TestTextsComplete(t *testing.T) {
	keys := func(l Lang) []string {
		var ks []string
		for k := range texts[l] {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	assert.Equal(t, keys(DE), keys(EN), "every text in both languages")
	for _, l := range []Lang{DE, EN} {
		for k, v := range texts[l] {
			assert.NotEmpty(t, v, "%s %s", l, k)
		}
	}
	// Every note code has a text in both languages.
	rep := loadReport(t)
	for _, l := range []Lang{DE, EN} {
		tt := tr{lang: l}
		for _, n := range rep.Notes {
			s := tt.note(rep, n)
			assert.NotContains(t, s, "%!", "%s %s", l, n.Code)
			assert.NotEqual(t, string(n.Code), s)
		}
	}
}

func TestNumberFormat(t *testing.T) {
	de, en := tr{lang: DE}, tr{lang: EN}
	assert.Equal(t, "1.234.567,9", de.num(1234567.89, 1))
	assert.Equal(t, "1,234,567.9", en.num(1234567.89, 1))
	assert.Equal(t, "−12,50", de.num(-12.5, 2))
	assert.Equal(t, "0", de.num(-0.0001, 0))
	assert.Equal(t, "+10,8 %", de.pct(ptr(10.81)))
	assert.Equal(t, "–", de.pct(nil))
}

func ptr(f float64) *float64 { return &f }

func TestHTML(t *testing.T) {
	rep := loadReport(t)
	for _, l := range []Lang{DE, EN} {
		var buf bytes.Buffer
		require.NoError(t, Render(&buf, rep, HTML, l))
		h := buf.String()
		assert.True(t, strings.HasPrefix(h, "<!DOCTYPE html>"))
		// 4 monthly charts, 4 year comparisons, 1 ranking, as inline SVG.
		assert.Equal(t, 9, strings.Count(h, "<svg "), l)
		assert.Equal(t, strings.Count(h, "<svg "), strings.Count(h, "</svg>"))
		// Each chart is well-formed XML (browsers drop broken inline SVG).
		for rest := h; strings.Contains(rest, "<svg "); {
			i, j := strings.Index(rest, "<svg "), strings.Index(rest, "</svg>")
			d := xml.NewDecoder(strings.NewReader(rest[i : j+6]))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
			}
			rest = rest[j+6:]
		}
		assert.Contains(t, h, "Grundschule Süd")
		assert.Contains(t, h, map[Lang]string{DE: "Energiebericht", EN: "Energy report"}[l])
		assert.Contains(t, h, map[Lang]string{DE: "witterungsbereinigt", EN: "weather-normalised"}[l])
	}
}

// TestPDFRendersToImages renders the PDF with poppler's pdftoppm and
// checks the page count and that every page carries content.
func TestPDFRendersToImages(t *testing.T) {
	bin := testserver.Need(t, "pdftoppm", "/usr/bin/pdftoppm")
	rep := loadReport(t)
	for _, l := range []Lang{DE, EN} {
		t.Run(string(l), func(t *testing.T) {
			// The same report gives the same bytes (fixed dates), so
			// archived reports can be checked.
			var a, b bytes.Buffer
			require.NoError(t, Render(&a, rep, PDF, l))
			require.NoError(t, Render(&b, rep, PDF, l))
			assert.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "PDF output not reproducible")
			dir := t.TempDir()
			pdf := filepath.Join(dir, "report.pdf")
			f, err := os.Create(pdf)
			require.NoError(t, err)
			require.NoError(t, Render(f, rep, PDF, l))
			require.NoError(t, f.Close())
			if os.Getenv("REPORT_KEEP") != "" {
				data, _ := os.ReadFile(pdf)
				_ = os.WriteFile(filepath.Join(os.TempDir(), "loraedge-report-"+string(l)+".pdf"), data, 0o644)
			}
			out, err := exec.Command(bin, "-r", "40", "-png", pdf, filepath.Join(dir, "page")).CombinedOutput()
			require.NoError(t, err, string(out))
			pages, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
			require.NoError(t, err)
			// Page 1: title, summary, two monthly charts; 2: two more
			// charts; 3: year comparison; 4: ranking; 5-6: one per site;
			// 7: notes and method.
			assert.Len(t, pages, 7)
			for _, p := range pages {
				ink := inkShare(t, p)
				assert.Greater(t, ink, 0.01, "%s is blank", filepath.Base(p))
				assert.Less(t, ink, 0.5, "%s is mostly dark", filepath.Base(p))
			}
		})
	}
}

// inkShare is the share of pixels that are not near-white.
func inkShare(t *testing.T, path string) float64 {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bb, _ := img.At(x, y).RGBA(); r < 0xe000 || g < 0xe000 || bb < 0xe000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy())
}

var _ image.Image // image/png registers the decoder through png.Decode

// TestEnergyFromStore runs what the CLI runs: a generated year in a real
// store, rendered in every format.
func TestEnergyFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := []site.Site{
		{ID: "gs-nord", Name: "Grundschule Nord", Kind: site.Building, BGF: 2400, NRF: 2050},
		{ID: "rathaus", Name: "Rathaus", Kind: site.Building, BGF: 3100, NRF: 2700},
	}
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: time.Hour, Anomalies: true})
	require.NoError(t, err)
	opts := energy.Options{Config: cfg, Sites: sites, Now: func() time.Time { return time.Date(2027, 1, 10, 8, 0, 0, 0, time.UTC) }}
	src := energy.RangeSource{Ranger: st}
	for _, f := range []Format{PDF, HTML, CSV, JSON} {
		var buf bytes.Buffer
		rep, err := Energy(ctx, src, opts, EnergyRequest{From: "2026-01-01", To: "2026-12-31", Format: f, Lang: EN}, &buf)
		require.NoError(t, err, f)
		require.Len(t, rep.Sites, 2)
		assert.Greater(t, buf.Len(), 1000, f)
		// The generated leak month (March) of the first site is found.
		leak := false
		for _, n := range rep.Notes {
			leak = leak || (n.Code == energy.NoteLeak && n.Site == "gs-nord" && n.Month == "2026-03")
		}
		assert.True(t, leak)
	}
	_, err = Energy(ctx, src, opts, EnergyRequest{From: "2026-12-31", To: "2026-01-01"}, &bytes.Buffer{})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = Energy(ctx, src, opts, EnergyRequest{From: "2026-01-01", To: "2026-01-31", Sites: []string{"nowhere"}}, &bytes.Buffer{})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "unknown site")
	_, err = Energy(ctx, src, opts, EnergyRequest{From: "2026-01-01", To: "2026-01-31", Sites: []string{"gs-nrod"}}, &bytes.Buffer{})
	assert.ErrorContains(t, err, `unknown site "gs-nrod" (closest: gs-nord`, "a typo is answered with the site meant")

	// The service behind GET /api/v1/reports/energy.
	svc := &Service{Source: src, Options: func() energy.Options { return opts }}
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	ctype, name, body, err := svc.EnergyReport(ctx, day("2026-01-01"), day("2026-12-31"), []string{"rathaus"}, "csv", "de")
	require.NoError(t, err)
	assert.Equal(t, "text/csv; charset=utf-8", ctype)
	assert.Equal(t, "energiebericht_2026-01-01_2026-12-31.csv", name)
	assert.Contains(t, string(body), "rathaus;Rathaus;electricity;total;2026-01-01;2026-12-31;")
	assert.NotContains(t, string(body), "gs-nord")
	_, _, _, err = svc.EnergyReport(ctx, day("2026-01-01"), day("2026-12-31"), nil, "docx", "de")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = ParseFormat("docx")
	assert.Error(t, err)
	_, err = ParseLang("fr")
	assert.Error(t, err)
}

// TestTextKeysExist finds every t.s("key") and t.f("key", ...) in the
// sources and checks both languages have the key: a missing one would
// print the bare key.
func TestTextKeysExist(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	re := regexp.MustCompile(`\bt\.[sf]\("([a-z0-9_]+)"[,)]`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			n++
			for _, l := range []Lang{DE, EN} {
				_, ok := texts[l][m[1]]
				assert.True(t, ok, "%s: key %q missing in %s", f, m[1], l)
			}
		}
	}
	assert.Greater(t, n, 50)
}

// TestEdgeCases renders reports with nothing in them and a daily month in
// every format and language: no panics, well-formed output.
func TestEdgeCases(t *testing.T) {
	ctx := context.Background()
	src, sites, meters := emptyStore(t)
	for _, opts := range []energy.Options{{}, {Sites: sites, Config: meters}} {
		for _, f := range []Format{PDF, HTML, CSV, JSON} {
			for _, l := range []Lang{DE, EN} {
				var buf bytes.Buffer
				rep, err := Energy(ctx, src, opts, EnergyRequest{From: "2026-03-01", To: "2026-03-31", Format: f, Lang: l}, &buf)
				require.NoError(t, err, "%s %s", f, l)
				assert.NotZero(t, buf.Len())
				assert.Equal(t, energy.Day, rep.Granularity)
				for _, s := range rep.Sites {
					assert.Zero(t, s.EnergyKWh)
				}
			}
		}
	}
}
