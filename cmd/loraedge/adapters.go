package main

import (
	"math"
	"slices"
	"sync/atomic"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/measurement"
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

// sessionSource is the network layer's session status.
type sessionSource interface {
	Session(devEUI lorawan.EUI64) (network.SessionInfo, bool)
}

// macViews fills the API's MAC view from the network layer's session
// status, so httpapi need not follow the network layer's types.
type macViews struct{ sessions sessionSource }

func (m macViews) MACView(devEUI lorawan.EUI64) (httpapi.MACView, bool) {
	si, ok := m.sessions.Session(devEUI)
	if !ok {
		return httpapi.MACView{}, false
	}
	v := httpapi.MACView{FCntUp: si.FCntUp, NFCntDown: si.NFCntDown, PendingCommands: []string{}}
	mi := si.MAC
	if mi.DR >= 0 && mi.DataRate != "" {
		// Known only after the first uplink: before it the view leaves the
		// radio settings out rather than show DR0 at full power.
		dr, idx, nb := mi.DR, mi.TXPowerIndex, mi.NbTrans
		dbm := int(math.Round(mi.TXPowerDBm))
		adr := mi.ADR
		v.DataRate, v.DataRateName, v.TXPowerIndex, v.TXPowerDBm, v.NbTrans, v.ADR = &dr, mi.DataRate, &idx, &dbm, &nb, &adr
		if sf, _, ok := network.ParseLoRaDataRate(mi.DataRate); ok {
			v.SpreadingFactor = &sf
		}
	}
	if mi.HasADRMargin {
		margin := mi.ADRMargin
		v.ADRMarginDB = &margin
	}
	if ds := mi.DevStatus; ds != nil {
		margin, at := ds.Margin, ds.Time
		v.MarginDB, v.BatteryPercent, v.ExternalPower, v.DevStatusAt = &margin, ds.BatteryPercent, ds.ExternalPower, &at
	}
	for _, p := range mi.Pending {
		v.PendingCommands = append(v.PendingCommands, p.Command)
	}
	v.NotAnswering = mi.NotAnswering
	return v, true
}

var _ httpapi.MACSource = macViews{}

// openData publishes the series of devices tagged "opendata", and the
// water level and its rate of gauges tagged "opendata".
type openData struct {
	cfg     config.OpenData
	devices *device.Registry
	series  *store.Store
	sites   []site.Site
}

// OpenDataTag marks a device whose series are published.
const OpenDataTag = "opendata"

func (o openData) PublicSeries() []httpapi.OpenSeries {
	public := map[string]device.Device{}
	gauges := map[string]site.Site{}
	for _, st := range o.sites {
		if st.Kind == site.Gauge && slices.Contains(st.Tags, OpenDataTag) {
			gauges[st.ID] = st
		}
	}
	atGauge := map[string]site.Site{}
	for _, d := range o.devices.List() {
		if slices.Contains(d.Tags, OpenDataTag) {
			public[d.DevEUI.String()] = d
		}
		if g, ok := gauges[d.Site]; ok {
			atGauge[d.DevEUI.String()] = g
		}
	}
	var out []httpapi.OpenSeries
	for _, si := range o.series.Series() {
		d, ok := public[si.Device]
		if g, isGauge := atGauge[si.Device]; !ok && isGauge &&
			(si.Quantity == measurement.WaterLevel || si.Quantity == measurement.WaterLevelRate) {
			title := g.Name + ": " + string(si.Quantity)
			if g.River != "" {
				title = g.Name + " (" + g.River + "): " + string(si.Quantity)
			}
			out = append(out, httpapi.OpenSeries{SeriesInfo: si, Title: title, Licence: o.cfg.Licence, Attribution: o.cfg.Attribution, Site: g.ID})
			continue
		}
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
