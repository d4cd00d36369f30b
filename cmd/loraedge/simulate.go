package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/sim"
)

func newSimulateCmd(e env) *cobra.Command {
	var (
		opts        sim.Options
		printConfig bool
		logLevel    string
		targets     string
	)
	var (
		dataDir         string
		year, buildings int
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run virtual gateways and devices against a loraedge (or any GWMP server)",
		Long: "Plays a scenario on a virtual clock: virtual packet forwarders speak real GWMP to --target,\n" +
			"virtual OTAA and ABP devices use real keys and crypto. --print-config prints the sites and\n" +
			"devices (with keys) for the daemon's configuration file.\n\n" +
			"energy-year instead fills the store in --data-dir with a year of meter readings of demo\n" +
			"buildings (--year, --buildings) and writes a configuration for `loraedge report energy`.\n\n" +
			"Scenarios: " + strings.Join(sim.Scenarios(), ", ") + ", energy-year",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Config.Scenario == "energy-year" {
				if dataDir == "" {
					return errors.New("--data-dir: required for energy-year (the store to fill)")
				}
				return generateEnergyYear(cmd.Context(), e, dataDir, year, buildings)
			}
			if _, ok := sim.LookupScenario(opts.Config.Scenario); !ok {
				return fmt.Errorf("--scenario: %w %q (have %s)", errNoScenario, opts.Config.Scenario, strings.Join(sim.Scenarios(), ", "))
			}
			if printConfig {
				return printSimConfig(e, opts.Config.Scenario)
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
			var err error
			if opts.Targets, err = simTargets(opts.Config.Scenario, targets, cmd.Flags().Changed("targets")); err != nil {
				return err
			}
			return sim.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "127.0.0.1:1700", "UDP address of the daemon")
	def := sim.DefaultConfig()
	f.StringVar(&targets, "targets", "", "county scenario: each instance's GWMP address, NAME=HOST:PORT,... in gateway order\n"+
		"(default: the ports of `loraedge county init`, 127.0.0.1:1701, :1702, :1703)")
	f.StringVar(&opts.Config.Scenario, "scenario", def.Scenario, "scenario to play")
	f.Float64Var(&opts.Config.Speed, "speed", def.Speed, "virtual seconds per real second")
	f.IntVar(&opts.Config.Gateways, "gateways", def.Gateways, "virtual gateways hearing the devices")
	f.BoolVar(&printConfig, "print-config", false, "print the scenario's sites and devices as configuration YAML and exit")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&dataDir, "data-dir", "", "energy-year: the data directory to fill")
	f.IntVar(&year, "year", time.Now().Year()-1, "energy-year: the year")
	f.IntVar(&buildings, "buildings", 8, "energy-year: how many demo buildings")
	return cmd
}

// simSiteYAML is a simulated site in the shape of the configuration
// file's `sites:` list.
type simSiteYAML struct {
	ID    string  `yaml:"id"`
	Name  string  `yaml:"name"`
	Kind  string  `yaml:"kind"`
	Road  string  `yaml:"road,omitempty"`
	Km    float64 `yaml:"km,omitempty"`
	Route string  `yaml:"route,omitempty"`
	Team  string  `yaml:"team,omitempty"`
	Lat   float64 `yaml:"lat"`
	Lon   float64 `yaml:"lon"`
	// Gauges and areas (flood scenario).
	River          string   `yaml:"river,omitempty"`
	MountingHeight float64  `yaml:"mounting_height_m,omitempty"`
	Capacity       int      `yaml:"capacity,omitempty"`
	Tags           []string `yaml:"tags,omitempty"`
}

// simDeviceYAML is a simulated device with its keys in the shape of the
// configuration file's `devices:` list.
type simDeviceYAML struct {
	DevEUI     string   `yaml:"dev_eui"`
	Name       string   `yaml:"name,omitempty"`
	Activation string   `yaml:"activation"`
	Class      string   `yaml:"class,omitempty"`
	MACVersion string   `yaml:"mac_version,omitempty"`
	Profile    string   `yaml:"profile"`
	Site       string   `yaml:"site,omitempty"`
	Tags       []string `yaml:"tags,omitempty"`
	JoinEUI    string   `yaml:"join_eui,omitempty"`
	AppKey     string   `yaml:"app_key,omitempty"`
	DevAddr    string   `yaml:"dev_addr,omitempty"`
	NwkSKey    string   `yaml:"nwk_s_key,omitempty"`
	AppSKey    string   `yaml:"app_s_key,omitempty"`
	// The simulator's ABP devices restart at FCnt 0 with every run.
	SkipFCntCheck bool `yaml:"skip_fcnt_check,omitempty"`
}

func simSitesYAML(sites []sim.Site) []simSiteYAML {
	var out []simSiteYAML
	for _, s := range sites {
		out = append(out, simSiteYAML{ID: s.ID, Name: s.Name, Kind: s.Kind, Road: s.Road, Km: s.Km, Route: s.Route, Team: s.Team, Lat: s.Lat, Lon: s.Lon,
			River: s.Gauge.River, MountingHeight: s.Gauge.MountingHeight, Capacity: s.Capacity, Tags: s.Tags})
	}
	return out
}

func simDevicesYAML(devs []device.Device) []simDeviceYAML {
	var out []simDeviceYAML
	for _, d := range devs {
		sd := simDeviceYAML{DevEUI: d.DevEUI.String(), Name: d.Name, Activation: string(d.Activation), Class: string(d.Class),
			MACVersion: d.MACVersion, Profile: d.Profile, Site: d.Site, Tags: d.Tags}
		if d.Activation == device.OTAA {
			sd.JoinEUI, sd.AppKey = d.JoinEUI.String(), d.AppKey.String()
		} else {
			sd.DevAddr, sd.NwkSKey, sd.AppSKey = d.DevAddr.String(), d.NwkSKey.String(), d.AppSKey.String()
			sd.SkipFCntCheck = d.SkipFCntCheck
		}
		out = append(out, sd)
	}
	return out
}

// printSimConfig prints the scenario's sites and devices in the shape of
// the configuration file's `sites:` and `devices:` lists.
func printSimConfig(e env, scenario string) error {
	out := struct {
		Sites   []simSiteYAML   `yaml:"sites"`
		Devices []simDeviceYAML `yaml:"devices"`
	}{simSitesYAML(sim.Sites(scenario)), simDevicesYAML(sim.Devices(scenario))}
	fmt.Fprintf(e.stdout, "# Sites and devices of the simulator scenario %q (keys are test keys).\n", scenario)
	enc := yaml.NewEncoder(e.stdout)
	enc.SetIndent(2)
	return enc.Encode(out)
}
