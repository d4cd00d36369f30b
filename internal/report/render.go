// Package report renders energy reports (internal/energy) as PDF with
// charts, HTML with the same charts as inline SVG, CSV and JSON, in German
// or English.
package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/site"
)

// Format is an output format.
type Format string

// Output formats.
const (
	PDF  Format = "pdf"
	HTML Format = "html"
	CSV  Format = "csv"
	JSON Format = "json"
)

// ParseFormat accepts pdf, html, csv or json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case PDF, HTML, CSV, JSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want pdf, html, csv or json", s)
}

// ContentType is the MIME type of f, for the HTTP API.
func (f Format) ContentType() string {
	switch f {
	case PDF:
		return "application/pdf"
	case HTML:
		return "text/html; charset=utf-8"
	case CSV:
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// Ext is the file extension of f.
func (f Format) Ext() string { return "." + string(f) }

// Render writes rep in format f and language l.
func Render(w io.Writer, rep *energy.Report, f Format, l Lang) error {
	t := tr{lang: l}
	switch f {
	case PDF:
		return renderPDF(w, rep, t)
	case HTML:
		return renderHTML(w, rep, t)
	case CSV:
		return renderCSV(w, rep, t)
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return fmt.Errorf("render: unknown format %q", f)
}

// EnergyRequest is what `loraedge report energy` and the HTTP API ask for.
type EnergyRequest struct {
	// From and To are inclusive local dates, 2006-01-02.
	From, To string
	// Sites limits the report; empty: all buildings with meters.
	Sites []string
	// Granularity is day, month or year; empty picks by period length.
	Granularity string
	Format      Format
	Lang        Lang
}

// ErrInvalid marks errors caused by the request (dates, sites, format,
// language), for a 400 answer rather than a 500.
var ErrInvalid = errors.New("invalid report request")

// Energy computes the energy report of req from src and renders it to w.
// It returns the report for callers that want figures (API, logs).
func Energy(ctx context.Context, src energy.Source, opts energy.Options, req EnergyRequest, w io.Writer) (*energy.Report, error) {
	eng, err := energy.New(opts)
	if err != nil {
		return nil, err
	}
	from, to, err := eng.ParsePeriod(req.From, req.To)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch g := energy.Granularity(req.Granularity); g {
	case "", energy.Day, energy.Month, energy.Year:
	default:
		return nil, fmt.Errorf("%w: granularity %q: want day, month or year", ErrInvalid, req.Granularity)
	}
	known := map[string]bool{}
	for _, s := range opts.Sites {
		known[s.ID] = s.Kind != site.Road
	}
	for _, s := range req.Sites {
		if !known[s] {
			return nil, fmt.Errorf("%w: unknown site %q%s", ErrInvalid, s, inputerr.Suggest(s, slices.Sorted(maps.Keys(known)), ""))
		}
	}
	switch req.Format {
	case "", PDF, HTML, CSV, JSON:
	default:
		return nil, fmt.Errorf("%w: format %q: want pdf, html, csv or json", ErrInvalid, req.Format)
	}
	switch req.Lang {
	case "", DE, EN:
	default:
		return nil, fmt.Errorf("%w: language %q: want de or en", ErrInvalid, req.Lang)
	}
	if req.Format == "" {
		req.Format = PDF
	}
	if req.Lang == "" {
		req.Lang = DE
	}
	rep, err := eng.Report(ctx, src, energy.Request{From: from, To: to, Sites: req.Sites, Granularity: energy.Granularity(req.Granularity)})
	if err != nil {
		return nil, err
	}
	if rep.Measures, err = eng.ReportMeasures(ctx, src, opts.Calendar, rep); err != nil {
		return nil, err
	}
	if rep.Development, err = development(ctx, eng, src, req.Sites, rep, from, to); err != nil {
		return nil, err
	}
	if err := Render(w, rep, req.Format, req.Lang); err != nil {
		return rep, err
	}
	return rep, nil
}

// Service renders energy reports for the HTTP API (cmd adapts it to
// httpapi.ReportService in a few lines) and anything else that wants bytes.
type Service struct {
	Source energy.Source
	// Options returns the configuration, sites, devices and the store's
	// series; it is called per request so newly seen meters count.
	Options func() energy.Options
}

// EnergyReport renders the report of the local days from through to (both
// included; only their dates count) as format in lang. Request errors
// wrap ErrInvalid.
func (s *Service) EnergyReport(ctx context.Context, from, to time.Time, sites []string, format, lang string) (contentType, filename string, body []byte, err error) {
	f, err := ParseFormat(format)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	l, err := ParseLang(lang)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	req := EnergyRequest{From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Sites: sites, Format: f, Lang: l}
	var buf bytes.Buffer
	if _, err := Energy(ctx, s.Source, s.Options(), req, &buf); err != nil {
		return "", "", nil, err
	}
	name := map[Lang]string{DE: "energiebericht", EN: "energy-report"}[l]
	return f.ContentType(), fmt.Sprintf("%s_%s_%s%s", name, req.From, req.To, f.Ext()), buf.Bytes(), nil
}

// renderCSV writes one row per site, medium and bucket plus a period row
// (bucket "total") with costs and CO2. German output uses ';' and a
// decimal comma as German spreadsheets expect.
func renderCSV(w io.Writer, rep *energy.Report, t tr) error {
	cw := csv.NewWriter(w)
	if t.lang == DE {
		cw.Comma = ';'
	}
	num := func(v float64) string {
		// Millis of a kWh or litre are below any meter's resolution;
		// rounding hides float noise.
		s := strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
		if t.lang == DE {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	date := func(d time.Time) string { return d.Format("2006-01-02") }
	head := map[Lang][]string{
		DE: {"liegenschaft_id", "liegenschaft", "medium", "zeitraum", "von", "bis", "verbrauch", "einheit", "energie_kwh", "kosten_eur", "co2_kg", "geschaetzt"},
		EN: {"site_id", "site", "medium", "bucket", "from", "to", "consumption", "unit", "energy_kwh", "cost_eur", "co2_kg", "estimated"},
	}[t.lang]
	if err := cw.Write(head); err != nil {
		return err
	}
	yes := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	for _, s := range rep.Sites {
		for _, m := range s.Media {
			for _, b := range m.Buckets {
				if err := cw.Write([]string{s.ID, s.Name, string(m.Medium), string(rep.Granularity), date(b.Start), date(b.End.Add(-time.Nanosecond)), num(b.Consumption), m.Unit, num(b.EnergyKWh), "", "", yes(b.Estimated)}); err != nil {
					return err
				}
			}
			if err := cw.Write([]string{s.ID, s.Name, string(m.Medium), "total", date(rep.From), date(rep.To.Add(-time.Nanosecond)), num(m.Consumption), m.Unit, num(m.EnergyKWh), num(m.CostEUR), num(m.CO2Kg), yes(m.Estimated)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
