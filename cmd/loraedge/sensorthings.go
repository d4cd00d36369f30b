package main

import (
	"fmt"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/sensorthings"
	"github.com/loraedge/loraedge/internal/site"
)

// buildSensorThings creates the SensorThings sink with the registry and
// the sites as its view of devices; like the InfluxDB sink, a disabled
// sink's cursor is removed so it does not hold the log.
func (d *daemon) buildSensorThings() error {
	if !d.cfg.SensorThings.Enabled {
		return d.store.RemoveCursor(sensorthings.CursorName)
	}
	sink, err := sensorthings.New(d.store, d.cfg.SensorThings, sensorthings.Options{
		Devices: staDevices(d.devices), Places: staPlaces(d.cfg.Sites), Logger: d.log, Registerer: d.metrics,
		ClientID: d.cfg.GatewayID,
	})
	if err != nil {
		return fmt.Errorf("sensorthings: %w", err)
	}
	d.sta = sink
	return nil
}

// staDevices answers the sink from the registry, so a device moved by a
// reload or through the API moves its Thing.
func staDevices(reg *device.Registry) func(string) (sensorthings.Device, bool) {
	return func(devEUI string) (sensorthings.Device, bool) {
		var eui lorawan.EUI64
		if err := eui.UnmarshalText([]byte(devEUI)); err != nil {
			return sensorthings.Device{}, false
		}
		dev, ok := reg.Get(eui)
		if !ok {
			return sensorthings.Device{}, false
		}
		return sensorthings.Device{Name: dev.Name, Profile: dev.Profile, Site: dev.Site}, true
	}
}

func staPlaces(sites []site.Site) func(string) (sensorthings.Place, bool) {
	byID := make(map[string]sensorthings.Place, len(sites))
	for _, s := range sites {
		desc := s.Name
		if s.Road != "" {
			desc = fmt.Sprintf("%s, %s km %g", s.Name, s.Road, s.Km)
		} else if s.Address != "" {
			desc = s.Name + ", " + s.Address
		}
		byID[s.ID] = sensorthings.Place{ID: s.ID, Name: s.Name, Description: desc, Lat: s.Lat, Lon: s.Lon}
	}
	return func(id string) (sensorthings.Place, bool) { p, ok := byID[id]; return p, ok }
}
