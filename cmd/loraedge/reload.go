package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHUP applies device, profile and (later) alert rule changes from
// the configuration file on SIGHUP, without stopping the uplink path. A
// file that does not load or validate changes nothing.
func (d *daemon) reloadOnHUP(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			_ = d.notify.Reloading()
			if err := d.reloadConfig(); err != nil {
				d.log.Error("reload refused, keeping the running configuration", "err", err)
			}
			_ = d.notify.Ready()
		}
	}
}

func (d *daemon) reloadConfig() error {
	if d.reload == nil {
		return errors.New("no configuration source")
	}
	cfg, err := d.reload()
	if err != nil {
		return err
	}
	if d.cfg.Simulator.Enabled {
		cfg.Simulator = d.cfg.Simulator
		cfg = withSimulator(cfg)
		cfg.Alert = demoAlerts(cfg.Alert) // as newDaemon does
	}
	profiles, err := loadProfiles(cfg)
	if err != nil {
		return err
	}
	// Alert rules are checked before anything changes: a bad alert
	// section must not leave devices reloaded and rules not.
	reloadAlerts := d.alerts != nil && cfg.Alert.Enabled
	if reloadAlerts {
		if err := d.alerts.CheckConfig(cfg.Alert); err != nil {
			return err
		}
	} else if (d.alerts != nil) != cfg.Alert.Enabled {
		d.log.Warn("alert.enabled changed: takes effect after a restart", "enabled", cfg.Alert.Enabled)
	}
	if err := d.devices.Reload(cfg.Devices); err != nil {
		return err
	}
	d.ingest.SetProfiles(profiles)
	d.gauges.SetSites(cfg.Sites)
	d.adr.profiles.Store(profiles)
	if reloadAlerts {
		if err := d.alerts.Reload(cfg.Alert, cfg.Sites); err != nil {
			return err
		}
	}
	if d.http != nil {
		// A bad pair keeps the served certificate and must not undo the
		// rest of the reload.
		if err := d.http.ReloadTLS(cfg.HTTP.TLS); err != nil {
			d.log.Error("certificate not reloaded, keeping the served one", "err", err)
		}
	}
	if d.station != nil {
		// Likewise: a router list or certificate that does not load keeps
		// the ones in use.
		if err := d.station.Reload(cfg.BasicStation); err != nil {
			d.log.Error("basicstation routers and certificate not reloaded, keeping the current ones", "err", err)
		}
	}
	d.log.Info("configuration reloaded", "devices", len(d.devices.List()), "profiles", profiles.Len())
	return nil
}
