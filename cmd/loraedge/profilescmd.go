package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/devrepo"
)

// newProfilesCmd imports firmware profiles from a checkout of the public
// LoRaWAN device repository.
func newProfilesCmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "profiles", Short: "Firmware profiles"}
	var repo, out, region string
	var maps []string
	imp := &cobra.Command{
		Use:   "import --repo DIR VENDOR/MODEL",
		Short: "Write a firmware profile for a device of a LoRaWAN device repository checkout: its JavaScript decoder, its examples as self-test",
		Long: "Reads DIR/vendor/VENDOR/MODEL.yaml, the codec its EU868 profile names, that codec's JavaScript\n" +
			"decoder and examples, and writes OUT/VENDOR/MODEL.yaml with the script beside it. The examples\n" +
			"become the profile's tests, which `loraedge validate` runs. Point profiles.dir at OUT.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if repo == "" {
				return fmt.Errorf("--repo: required (a checkout of the LoRaWAN device repository)")
			}
			m := map[string]string{}
			for _, kv := range maps {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" || v == "" {
					return fmt.Errorf("--map: expected FIELD=QUANTITY, got %q", kv)
				}
				m[k] = v
			}
			p, err := devrepo.Import(devrepo.Options{Repo: repo, ID: args[0], Region: region, Map: m})
			if err != nil {
				return err
			}
			dir := filepath.Join(out, p.Vendor)
			if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // profiles are not secret; the daemon's user reads them
				return err
			}
			file := filepath.Join(dir, p.Model+".yaml")
			if err := os.WriteFile(file, p.YAML, 0o644); err != nil { //nolint:gosec // as above
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, p.ScriptName), p.Script, 0o644); err != nil { //nolint:gosec // as above
				return err
			}
			fmt.Fprintf(e.stdout, "%s: profile %s/%s with %d tests from the examples", file, p.Vendor, p.Model, p.Tests)
			if p.Skipped > 0 {
				fmt.Fprintf(e.stdout, " (%d examples without data left out)", p.Skipped)
			}
			fmt.Fprintln(e.stdout)
			if len(p.Unmapped) > 0 {
				fmt.Fprintf(e.stdout, "fields without a quantity (add --map FIELD=QUANTITY to store them): %s\n", strings.Join(p.Unmapped, ", "))
			}
			return nil
		},
	}
	f := imp.Flags()
	f.StringVar(&repo, "repo", "", "checkout of the LoRaWAN device repository (the directory holding vendor/)")
	f.StringVar(&out, "out", "firmware-profiles", "profiles directory to write into (profiles.dir)")
	f.StringVar(&region, "region", devrepo.DefaultRegion, "regional profile of the firmware version")
	f.StringArrayVar(&maps, "map", nil, "FIELD=QUANTITY, a decoder field to store as a quantity (repeatable)")
	root.AddCommand(imp)
	return root
}
