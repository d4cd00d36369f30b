package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/site"
)

// devInfo is what rules know about a device.
type devInfo struct {
	EUI      string
	Dev      device.Device
	Known    bool
	Site     *site.Site
	Profile  *profile.Profile
	Interval time.Duration
}

// facts is the evaluators' env: the device registry, profiles, gateways
// and disk as wired, and the sites and timezone of the running
// configuration. Reload swaps sites and loc under the engine's lock; the
// rest never changes, so building rules may read it without the lock.
type facts struct {
	now      func() time.Time
	devs     Devices
	profiles Profiles
	gws      Gateways
	du       DiskUsage
	budget   int64
	roads    RoadForecasts
	cal      *calendar.Calendar
	outdoor  map[string]string

	sites map[string]site.Site
	loc   *time.Location
}

var _ env = (*facts)(nil)

func (f *facts) location() *time.Location     { return f.loc }
func (f *facts) clock() time.Time             { return f.now() }
func (f *facts) gateways() Gateways           { return f.gws }
func (f *facts) roadForecasts() RoadForecasts { return f.roads }
func (f *facts) disk() (DiskUsage, int64)     { return f.du, f.budget }

// calendar returns the configured calendar of use, else NRW's default.
func (f *facts) calendar() *calendar.Calendar {
	if f.cal == nil {
		// The default configuration is valid: New cannot fail on it.
		f.cal, _ = calendar.New(calendar.DefaultConfig())
	}
	return f.cal
}

func (f *facts) outdoorSensor(siteID string) string { return strings.ToLower(f.outdoor[siteID]) }

// device looks up a device by its EUI (hex); an unknown one has only EUI.
func (f *facts) device(eui string) devInfo {
	di := devInfo{EUI: eui}
	var id lorawan.EUI64
	if f.devs != nil && id.UnmarshalText([]byte(eui)) == nil {
		di.Dev, di.Known = f.devs.Get(id)
	}
	return f.fill(di)
}

func (f *facts) fill(di devInfo) devInfo {
	if di.Known {
		if s, ok := f.sites[di.Dev.Site]; ok {
			di.Site = &s
		}
		if f.profiles != nil && di.Dev.Profile != "" {
			if p, ok := f.profiles.Get(di.Dev.Profile); ok {
				di.Profile = p
				di.Interval = p.UplinkInterval
			}
		}
	}
	return di
}

func (f *facts) devices() []devInfo {
	if f.devs == nil {
		return nil
	}
	var out []devInfo
	for _, d := range f.devs.List() {
		b, _ := d.DevEUI.MarshalText()
		out = append(out, f.fill(devInfo{EUI: string(b), Dev: d, Known: true}))
	}
	return out
}

func (r *rule) selects(di devInfo) bool {
	s := r.cfg.Select
	if len(s.Devices) > 0 && !slices.ContainsFunc(s.Devices, func(x string) bool { return strings.EqualFold(x, di.EUI) }) {
		return false
	}
	if len(s.Profiles) > 0 && !slices.Contains(s.Profiles, di.Dev.Profile) {
		return false
	}
	if len(s.Sites) > 0 && !slices.Contains(s.Sites, di.Dev.Site) {
		return false
	}
	if len(s.Teams) > 0 && (di.Site == nil || !slices.Contains(s.Teams, di.Site.Team)) {
		return false
	}
	if len(s.Tags) > 0 && !slices.ContainsFunc(s.Tags, func(t string) bool { return slices.Contains(di.Dev.Tags, t) }) {
		return false
	}
	return true
}

// labels builds the labels of an alert about a device and/or site.
func (f *facts) labels(r *rule, di *devInfo, siteID string) map[string]string {
	l := map[string]string{"rule": r.cfg.Name, "kind": r.cfg.Kind}
	if di != nil {
		l["device"] = di.EUI
		if di.Known {
			l["device_name"] = di.Dev.Name
			l["profile"] = di.Dev.Profile
			siteID = di.Dev.Site
		}
	}
	if s, ok := f.sites[siteID]; ok {
		l["site"] = s.ID
		l["site_name"] = s.Name
		l["section"] = s.ID
		if s.Road != "" {
			l["road"] = s.Road
			l["km"] = fmt.Sprintf("%.1f", s.Km)
		}
		if s.Route != "" {
			l["route"] = s.Route
		}
		if s.Team != "" {
			l["team"] = s.Team
		}
	} else if siteID != "" {
		l["site"] = siteID
		l["section"] = siteID
	}
	return l
}
