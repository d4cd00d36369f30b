package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/loadtest"
)

func newBenchCmd(e env) *cobra.Command {
	root := &cobra.Command{Use: "bench", Short: "Measure a loraedge binary under load"}
	var (
		o                      loadtest.Options
		rates, extra, jsonFile string
	)
	uplinks := &cobra.Command{
		Use:   "uplinks --binary PATH",
		Short: "Drive a daemon (child process) over real UDP at rising uplink rates; report loss, CPU, latency, RSS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Binary == "" {
				exe, err := os.Executable()
				if err != nil {
					return errors.New("--binary: required")
				}
				o.Binary = exe
			}
			var err error
			if o.Rates, err = loadtest.ParseRates(rates); err != nil {
				return fmt.Errorf("--rates: %w", err)
			}
			if extra != "" {
				b, err := os.ReadFile(extra)
				if err != nil {
					return fmt.Errorf("--extra-config: %w", err)
				}
				o.ExtraConfig = string(b)
			}
			o.Progress = e.stderr
			rep, runErr := loadtest.Run(cmd.Context(), o)
			fmt.Fprint(e.stdout, rep.String())
			if jsonFile != "" {
				b, err := rep.JSON()
				if err == nil {
					err = os.WriteFile(jsonFile, b, 0o600)
				}
				if err != nil {
					return errors.Join(runErr, fmt.Errorf("--json: %w", err))
				}
			}
			return runErr
		},
	}
	f := uplinks.Flags()
	f.StringVar(&o.Binary, "binary", "", "the loraedge binary to measure (default: this one)")
	f.IntVar(&o.Devices, "devices", 1000, "ABP devices in the daemon's configuration")
	f.IntVar(&o.Gateways, "gateways", 4, "virtual gateways")
	f.Float64Var(&o.DupFraction, "dup", 0.5, "share of uplinks heard by two gateways")
	f.StringVar(&rates, "rates", "500,1000,2000,4000,6000,8000", "uplinks/s per step, comma separated")
	f.DurationVar(&o.StepDuration, "step", 0, "duration of each step (default 10s)")
	f.DurationVar(&o.Settle, "settle", 0, "quiet time before measuring idle RSS (default 3s)")
	f.DurationVar(&o.Burst, "burst", 0, "pacing granularity of the generator (default 5ms)")
	f.Float64Var(&o.MaxLossPercent, "max-loss", 0.1, "loss that still counts as sustained, %")
	f.Float64Var(&o.StopLossPercent, "stop-loss", 5, "stop rising above this loss, %")
	f.StringVar(&o.MQTTURL, "mqtt-url", "", "count what reaches this broker (the daemon publishes there)")
	f.StringVar(&o.MQTTTopic, "mqtt-topic", "", "measurement topic filter (default loraedge/+/device/+/measurement)")
	f.StringVar(&extra, "extra-config", "", "YAML file added to the daemon's configuration")
	f.StringVar(&o.DataDir, "data-dir", "", "the daemon's data directory (empty or absent; default a temporary one)")
	f.BoolVar(&o.KeepDataDir, "keep-data-dir", false, "keep the data directory")
	f.StringVar(&o.LogLevel, "log-level", "warn", "the daemon's log level")
	f.StringVar(&jsonFile, "json", "", "write the report as JSON to this file")
	root.AddCommand(uplinks)
	return root
}
