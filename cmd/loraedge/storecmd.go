package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/store"
)

func newStoreCmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "store", Short: "Check, repair or compact the data directory's store (daemon stopped)"}
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
	compact := func(cmd *cobra.Command, _ []string) error {
		dir, err := dirOf(cmd)
		if err != nil {
			return err
		}
		return compactStore(cmd.Context(), e, dir)
	}
	for _, c := range []*cobra.Command{
		{Use: "compact", Short: "Rewrite sealed chunks in the current format and full size, then drop bbolt's free pages from the file", Args: cobra.NoArgs, RunE: compact},
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

// compactStore converts and merges the chunks of the (stopped) store in
// dir and then rewrites its bbolt file without free pages.
func compactStore(ctx context.Context, e env, dir string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := store.Open(store.Options{Dir: dir, NoBackgroundConvert: true})
	if err != nil {
		return fmt.Errorf("store compact (is the daemon running?): %w", err)
	}
	rep, err := st.Compact(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store compact: %w", err)
	}
	before, after, err := store.CompactFile(dir)
	if err != nil {
		return fmt.Errorf("store compact: %w", err)
	}
	fmt.Fprintf(e.stdout, "store %s\n  chunks: %d series, %d rewritten; %d chunks of %d bytes -> %d chunks of %d bytes\n  file: %d -> %d bytes\n",
		dir, rep.Series, rep.Rewritten, rep.ChunksBefore, rep.BytesBefore, rep.ChunksNow, rep.BytesNow, before, after)
	return nil
}
