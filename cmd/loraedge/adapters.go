package main

import (
	"slices"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/network"
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
// status. network.SessionInfo carries the frame counters today; the MAC
// engine's fields (data rate, TX power, NbTrans, ADR, margin and battery
// of DevStatusAns, pending commands) are mapped here once SessionInfo has
// them, so httpapi need not follow the network layer's types.
type macViews struct{ sessions sessionSource }

func (m macViews) MACView(devEUI lorawan.EUI64) (httpapi.MACView, bool) {
	si, ok := m.sessions.Session(devEUI)
	if !ok {
		return httpapi.MACView{}, false
	}
	return httpapi.MACView{FCntUp: si.FCntUp, NFCntDown: si.NFCntDown, PendingCommands: []string{}}, true
}

var _ httpapi.MACSource = macViews{}

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
