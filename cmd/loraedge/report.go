package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/report"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// reportService adapts report.Service to the API.
type reportService struct{ svc *report.Service }

func (r reportService) EnergyReport(ctx context.Context, req httpapi.ReportRequest) (string, string, []byte, error) {
	ctype, name, body, err := r.svc.EnergyReport(ctx, req.From, req.To, req.Sites, req.Format, req.Lang)
	if errors.Is(err, report.ErrInvalid) {
		return "", "", nil, &httpapi.Error{Status: 400, Code: "bad_request", Message: err.Error(), Err: err}
	}
	return ctype, name, body, err
}

// energyService builds the report service over the daemon's store.
func (d *daemon) energyService() *report.Service {
	return &report.Service{
		Source: energy.RangeSource{Ranger: d.store},
		Options: func() energy.Options {
			// The configuration was validated at load: New cannot fail here,
			// and nil would fall back to the default calendar.
			cal, _ := calendar.New(d.cfg.Calendar)
			ecfg := d.cfg.Energy
			// Measures added through the API count in reports too.
			if book, err := d.measureService().open(); err == nil {
				ecfg.Measures = book.List()
			}
			return energy.Options{Config: ecfg, Sites: d.cfg.Sites, Devices: d.devices.List(), Series: d.store.Series(), Calendar: cal}
		},
	}
}

func newReportCmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "report", Short: "Reports from the stored data"}
	var (
		req     report.EnergyRequest
		format  string
		lang    string
		outFile string
	)
	energyCmd := &cobra.Command{
		Use:   "energy --from DATE --to DATE [--site ID...] --format pdf|html|csv|json --out FILE",
		Short: "Energy report (Energiebericht) of the buildings for a period (both dates included)",
		Long: "Reads the local store in data_dir. The daemon holds the store while it runs: stop it,\n" +
			"or ask the running daemon through GET /api/v1/reports/energy.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, e, "data_dir", "sites", "devices", "energy", "calendar")
			if err != nil {
				return err
			}
			if req.Format, err = report.ParseFormat(format); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			if req.Lang, err = report.ParseLang(lang); err != nil {
				return fmt.Errorf("--lang: %w", err)
			}
			st, err := openStoreForCLI(cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			out := e.stdout
			if outFile != "" && outFile != "-" {
				f, err := os.Create(outFile)
				if err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer f.Close()
				out = f
			}
			cal, err := calendar.New(cfg.Calendar)
			if err != nil {
				return err
			}
			book, err := energy.OpenMeasureBook(st.KV("energy_measures"), cfg.Energy.Measures)
			if err != nil {
				return err
			}
			ecfg := cfg.Energy
			ecfg.Measures = book.List() // with those added through the API
			opts := energy.Options{Config: ecfg, Sites: cfg.Sites, Devices: cfg.Devices, Series: st.Series(), Calendar: cal}
			rep, err := report.Energy(cmd.Context(), energy.RangeSource{Ranger: st}, opts, req, out)
			if err != nil {
				return err
			}
			if report.Empty(rep) {
				// The file is written (with a page that explains); the
				// exit code and this line tell a script or an operator.
				return fmt.Errorf("the report is empty: no building with meters from %s to %s (configure sites and energy.meters, or check --site)", req.From, req.To)
			}
			if outFile != "" && outFile != "-" {
				fmt.Fprintf(e.stderr, "%s: %d buildings, %s to %s\n", outFile, len(rep.Sites), req.From, req.To)
			}
			return nil
		},
	}
	f := energyCmd.Flags()
	f.StringP("config", "c", "", "configuration file (sites, devices, energy)")
	f.String("data-dir", "", "data directory (data_dir)")
	f.StringVar(&req.From, "from", "", "first day, e.g. 2026-01-01")
	f.StringVar(&req.To, "to", "", "last day included, e.g. 2026-12-31")
	f.StringSliceVar(&req.Sites, "site", nil, "building site id (repeatable); default all")
	f.StringVar(&req.Granularity, "granularity", "", "day, month or year (default by period length)")
	f.StringVar(&format, "format", "pdf", "pdf, html, csv or json")
	f.StringVar(&lang, "lang", "de", "de or en")
	f.StringVarP(&outFile, "out", "o", "", "output file (default stdout)")
	for _, req := range []string{"from", "to"} {
		_ = energyCmd.MarkFlagRequired(req)
	}
	root.AddCommand(energyCmd)
	return root
}

// openStoreForCLI opens the store of a stopped daemon, with a clear word
// when a running one holds it.
func openStoreForCLI(cfg config.Config) (*store.Store, error) {
	dir := filepath.Join(cfg.DataDir, "store")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no store in %s: %w", cfg.DataDir, err)
	}
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("%w (is the daemon running? it holds the store; use GET /api/v1/reports/energy instead)", err)
	}
	return st, nil
}

// generateEnergyYear fills the store in dataDir with a year of 15-minute
// meter readings of the configured buildings (or demo buildings) and writes
// a configuration naming them next to it.
func generateEnergyYear(ctx context.Context, e env, dataDir string, year, buildings int) error {
	st, err := store.Open(store.Options{Dir: filepath.Join(dataDir, "store")})
	if err != nil {
		return fmt.Errorf("%w (is the daemon running on this data directory?)", err)
	}
	defer st.Close()
	sites := sim.DemoSites(buildings)
	start := time.Now()
	ecfg, err := sim.GenerateYear(ctx, st, year, sites, sim.YearOptions{Anomalies: true, Measure: true, Events: true})
	if err != nil {
		return err
	}
	conf := struct {
		DataDir string        `yaml:"data_dir"`
		Sites   []site.Site   `yaml:"sites"`
		Energy  energy.Config `yaml:"energy"`
	}{dataDir, sites, ecfg}
	b, err := yaml.Marshal(conf)
	if err != nil {
		return err
	}
	file := filepath.Join(dataDir, "energy-year.yaml")
	header := fmt.Sprintf("# Written by `loraedge simulate --scenario energy-year`: %d demo buildings, year %d.\n", buildings, year)
	if err := os.WriteFile(file, append([]byte(header), b...), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d buildings, year %d stored in %s in %s.\nReport: loraedge report energy -c %s --from %d-01-01 --to %d-12-31 --format pdf --out energiebericht.pdf\n",
		buildings, year, dataDir, time.Since(start).Round(time.Second), file, year, year)
	return nil
}
