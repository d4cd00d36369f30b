package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/datex2"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/site"
)

// datex2Publisher writes the road stations' DATEX II publications from the
// store's latest values, for the API and the export command.
type datex2Publisher struct {
	cfg     datex2.Config
	sites   []site.Site
	devices func() []device.Device
	last    datex2.LastReader
	now     func() time.Time
}

var _ httpapi.Datex2Publisher = datex2Publisher{}

// Datex2 writes the publication of kind "measured" or "sites".
func (p datex2Publisher) Datex2(ctx context.Context, w io.Writer, kind string) error {
	stations, err := datex2.Collect(ctx, p.last, p.sites, p.devices())
	if err != nil {
		return err
	}
	switch kind {
	case "sites":
		if len(stations) == 0 {
			return &httpapi.Error{Status: 404, Code: "not_found", Message: "no road site configured (sites with kind: road)"}
		}
		return p.cfg.SiteTable(w, stations, p.now())
	case "measured":
		err := p.cfg.MeasuredData(w, stations, p.now())
		if errors.Is(err, datex2.ErrNoMeasurements) {
			return httpapi.ErrDatex2NoData
		}
		return err
	}
	return fmt.Errorf("datex2: unknown publication %q", kind)
}

func newDatex2Cmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "datex2", Short: "DATEX II v3 publications of the road stations"}
	var kind, outFile, at string
	export := &cobra.Command{
		Use:   "export --kind measured|sites [--out FILE] [--at TIME]",
		Short: "Write the MeasuredDataPublication (latest values) or the MeasurementSiteTablePublication",
		Long: "Reads the local store in data_dir. The daemon holds the store while it runs: stop it,\n" +
			"or fetch GET /api/v1/datex2/measured and /api/v1/datex2/sites from the running daemon.\n" +
			"Values older than datex2.max_age before --at (default now) are left out.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "measured" && kind != "sites" {
				return fmt.Errorf("--kind: %q is not measured or sites", kind)
			}
			when := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--at: %q is not an RFC 3339 time such as 2026-01-12T06:00:00Z", at)
				}
				when = t
			}
			cfg, err := loadConfig(cmd, e, "data_dir", "sites", "devices", "datex2")
			if err != nil {
				return err
			}
			st, err := openStoreForCLI(cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			pub := datex2Publisher{cfg: cfg.Datex2, sites: cfg.Sites, devices: func() []device.Device { return cfg.Devices },
				last: st, now: func() time.Time { return when }}
			out := e.stdout
			var f *os.File
			if outFile != "" && outFile != "-" {
				if f, err = os.Create(outFile); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				out = f
			}
			err = pub.Datex2(cmd.Context(), out, kind)
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					_ = os.Remove(outFile) // no half-written publication left behind
				}
			}
			var herr *httpapi.Error
			if errors.As(err, &herr) {
				return errors.New(herr.Message)
			}
			return err
		},
	}
	f := export.Flags()
	f.StringP("config", "c", "", "configuration file (sites, devices, datex2)")
	f.String("data-dir", "", "data directory (data_dir)")
	f.StringVar(&kind, "kind", "measured", "measured (MeasuredDataPublication) or sites (MeasurementSiteTablePublication)")
	f.StringVarP(&outFile, "out", "o", "", "output file (default stdout)")
	f.StringVar(&at, "at", "", "publication time, RFC 3339 (default now)")
	root.AddCommand(export)
	return root
}
