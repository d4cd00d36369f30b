package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/device"
)

// newDevicesCmd provisions devices in bulk through a running daemon's API:
// the daemon owns the registry of API-managed devices.
func newDevicesCmd(e env) *cobra.Command {
	api := &apiClient{environ: e.environ}
	root := &cobra.Command{
		Use:   "devices",
		Short: "Import and export devices of a running daemon (through its API)",
	}
	api.flags(root)
	var dryRun bool
	imp := &cobra.Command{
		Use:   "import FILE.csv|FILE.json",
		Short: "Add or replace the devices of a CSV or JSON file, all or none; every problem is listed with its line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importDevicesFile(cmd.Context(), api, e, args[0], dryRun)
		},
	}
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "check the file against the daemon, change nothing")
	var out, format string
	exp := &cobra.Command{
		Use:   "export [--out FILE] [--format csv|json]",
		Short: "Write the daemon's devices as CSV (the import's columns) or JSON; keys are write-only and left out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exportDevices(cmd.Context(), api, e, out, format)
		},
	}
	exp.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	exp.Flags().StringVar(&format, "format", "csv", "csv or json")
	root.AddCommand(imp, exp)
	return root
}

func importDevicesFile(ctx context.Context, api *apiClient, e env, file string, dryRun bool) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ct := "text/csv"
	if strings.EqualFold(filepath.Ext(file), ".json") {
		ct = "application/json"
	}
	path := "/api/v1/devices:import"
	if dryRun {
		path += "?dry_run=true"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := api.do(ctx, "POST", path, ct, bytes.NewReader(b))
	var probErr *problemsError
	if errors.As(err, &probErr) {
		for _, p := range probErr.problems {
			fmt.Fprintf(e.stdout, "%s:%s\n", file, strings.TrimPrefix(p.String(), "line "))
		}
		return fmt.Errorf("%s: %d problems; nothing was imported", file, len(probErr.problems))
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ans struct {
		Devices, Imported int
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if dryRun {
		_, err = fmt.Fprintf(e.stdout, "%s: %d devices, no problems (dry run: nothing imported)\n", file, ans.Devices)
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s: %d devices imported\n", file, ans.Imported)
	return err
}

func exportDevices(ctx context.Context, api *apiClient, e env, out, format string) error {
	if format != "csv" && format != "json" {
		return fmt.Errorf("--format: expected csv or json, got %q", format)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := api.do(ctx, "GET", "/api/v1/devices", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var list struct{ Devices []device.Device }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return fmt.Errorf("read devices: %w", err)
	}
	var b bytes.Buffer
	if format == "json" {
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		err = enc.Encode(list.Devices)
	} else {
		err = device.WriteCSV(&b, list.Devices)
	}
	if err != nil {
		return err
	}
	if out == "" {
		_, err = e.stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o600)
}
