package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/store"
)

func newStoreCmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "store", Short: "Check or repair the data directory's store (daemon stopped)"}
	dirOf := func(cmd *cobra.Command) (string, error) {
		cfg, err := loadConfig(cmd, e, "data_dir")
		if err != nil {
			return "", err
		}
		return filepath.Join(cfg.DataDir, "store"), nil
	}
	run := func(repair bool) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			dir, err := dirOf(cmd)
			if err != nil {
				return err
			}
			var rep store.Report
			if repair {
				rep, err = store.Repair(dir)
			} else {
				rep, err = store.Check(dir)
			}
			printStoreReport(e, dir, rep)
			if err != nil {
				if !repair {
					return fmt.Errorf("%w; `loraedge store repair` cuts the log at the damage and keeps what is before it (back up %s first)", err, dir)
				}
				return err
			}
			return nil
		}
	}
	for _, c := range []*cobra.Command{
		{Use: "check", Short: "Verify every log record and sealed chunk; exit 1 on corruption", Args: cobra.NoArgs, RunE: run(false)},
		{Use: "repair", Short: "Cut the log at corruption (later segments are moved to wal/quarantine-*) and drop undecodable chunks", Args: cobra.NoArgs, RunE: run(true)},
	} {
		c.Flags().StringP("config", "c", "", "configuration file")
		c.Flags().String("data-dir", "", "data directory (data_dir)")
		root.AddCommand(c)
	}
	return root
}

func printStoreReport(e env, dir string, r store.Report) {
	fmt.Fprintf(e.stdout, "store %s\n  log: %d segments, %d records, %d points, seq %d..%d\n  sealed: %d series, %d chunks, %d bad\n",
		dir, r.Segments, r.Records, r.Points, r.FirstSeq, r.LastSeq, r.Series, r.Chunks, r.BadChunks)
	if r.TornTail {
		fmt.Fprintf(e.stdout, "  torn tail: %d bytes after the last complete record (normal after a power cut; truncated on open)\n", r.TornBytes)
	}
	for _, c := range r.Corrupt {
		fmt.Fprintf(e.stdout, "  CORRUPT: %+v\n", c)
	}
	for _, a := range r.Actions {
		fmt.Fprintf(e.stdout, "  repaired: %s\n", a)
	}
}
