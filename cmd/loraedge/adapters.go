package main

import (
	"slices"
	"sync/atomic"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// siteList serves the configured sites.
type siteList []site.Site

func (s siteList) Sites() []site.Site { return s }

// downlinker queues downlinks in the network layer and builds profile
// commands; the API and MQTT commands use it.
type downlinker struct {
	*network.Server
	*profile.Set
}

// openData publishes the series of devices tagged "opendata".
type openData struct {
	cfg     config.OpenData
	devices *device.Registry
	series  *store.Store
}

// OpenDataTag marks a device whose series are published.
const OpenDataTag = "opendata"

func (o openData) PublicSeries() []httpapi.OpenSeries {
	public := map[string]device.Device{}
	for _, d := range o.devices.List() {
		if slices.Contains(d.Tags, OpenDataTag) {
			public[d.DevEUI.String()] = d
		}
	}
	var out []httpapi.OpenSeries
	for _, si := range o.series.Series() {
		d, ok := public[si.Device]
		if !ok {
			continue
		}
		title := string(si.Quantity)
		if d.Name != "" {
			title = d.Name + ": " + title
		}
		out = append(out, httpapi.OpenSeries{SeriesInfo: si, Title: title, Licence: o.cfg.Licence, Attribution: o.cfg.Attribution, Site: d.Site})
	}
	return out
}

// adrPolicy gives the network each device's ADR switch and bounds from its
// firmware profile (lorawan.adr, adr_min_dr, adr_max_dr, adr_margin_db);
// SIGHUP swaps in the reloaded profiles.
type adrPolicy struct{ profiles atomic.Pointer[profile.Set] }

func (a *adrPolicy) ADRLimits(d device.Device, l adr.Limits) (bool, adr.Limits) {
	s := a.profiles.Load()
	if s == nil || d.Profile == "" {
		return true, l
	}
	p, ok := s.Get(d.Profile)
	if !ok {
		return true, l
	}
	c := p.LoRaWAN.ADR
	if c.MinDR != nil {
		l.MinDR = *c.MinDR
	}
	if c.MaxDR != nil {
		l.MaxDR = *c.MaxDR
	}
	if c.MarginDB != nil {
		l.Margin = *c.MarginDB
	}
	return !c.Off, l
}
