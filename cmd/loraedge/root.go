package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/configs"
	"github.com/loraedge/loraedge/internal/config"
)

// version is stamped by `make dist` with -ldflags "-X main.version=...".
var version = "dev"

// env carries what every subcommand may use from the process, so that tests
// can call run with their own.
type env struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

// run executes the command line args; only main calls os.Exit.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	root := newRootCmd(env{environ: environ, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:           "loraedge",
		Short:         "LoRaWAN edge daemon: radio frames in, trustworthy measurements, alerts and reports out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	runCmd := newRunCmd(e)
	// `loraedge` alone runs the daemon, so the systemd unit stays short.
	root.RunE = runCmd.RunE
	root.Flags().AddFlagSet(runCmd.Flags())
	root.AddCommand(
		runCmd,
		newSimulateCmd(e),
		newCountyCmd(e),
		newValidateCmd(e),
		newConfigfileCmd(e),
		newVersionCmd(e),
		newDecodeCmd(e),
		newReportCmd(e),
		newStoreCmd(e),
		newAlertsCmd(e),
		newFramesCmd(e),
		newDevicesCmd(e),
		newProfilesCmd(e),
		newBenchCmd(e),
		newDatex2Cmd(e),
	)
	return root
}

func newVersionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build information",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			rev := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = s.Value
					}
				}
			}
			_, err := fmt.Fprintf(e.stdout, "loraedge %s (%s, %s, %s/%s)\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

func newConfigfileCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "configfile",
		Short: "Print the commented default configuration",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := e.stdout.Write(configs.Example)
			return err
		},
	}
}

func newValidateCmd(e env) *cobra.Command {
	var envFile string
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file and exit: 0 if valid, 1 with every problem listed otherwise",
		Long: "Checks FILE together with the LORAEDGE_* environment (and --env-file, e.g.\n" +
			"/etc/loraedge/loraedge.env), as the daemon would load them.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			environ := e.environ
			if envFile != "" {
				extra, err := readEnvFile(envFile)
				if err != nil {
					return err
				}
				environ = append(append([]string(nil), environ...), extra...)
			}
			// Every stage runs whatever the one before found: decoding and
			// checks (both in Load), then the firmware profiles.
			c, err := config.Load(config.Source{File: args[0], Env: environ})
			set, perr := loadProfiles(c)
			if set != nil {
				// The profiles' own examples (imported from a device
				// repository) must still decode as their vendor said.
				perr = errors.Join(append([]error{perr}, set.SelfTest()...)...)
			}
			if perr != nil {
				if err == nil {
					err = fmt.Errorf("%s: invalid configuration:\n%w", args[0], perr)
				} else {
					err = fmt.Errorf("%w\n%w", err, perr)
				}
			}
			if err != nil {
				return err
			}
			for _, w := range c.HTTP.Warnings() {
				if _, err := fmt.Fprintf(e.stderr, "%s: warning: %s\n", args[0], w); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(e.stdout, "%s: valid (%d sites, %d devices)\n", args[0], len(c.Sites), len(c.Devices))
			return err
		},
	}
	cmd.Flags().StringVar(&envFile, "env-file", "", "KEY=VALUE file as systemd's EnvironmentFile")
	return cmd
}

// readEnvFile reads KEY=VALUE lines; blank lines and # comments are
// skipped, as systemd does.
func readEnvFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	var out []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			return nil, fmt.Errorf("%s:%d: not KEY=VALUE", path, i+1)
		}
		out = append(out, line)
	}
	return out, nil
}
