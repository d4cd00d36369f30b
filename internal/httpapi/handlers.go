package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// GatewayLister knows the packet forwarders.
type GatewayLister interface {
	Gateways() []semtechudp.GatewayStatus
}

// DeviceStore is the device registry.
type DeviceStore interface {
	List() []device.Device
	Get(lorawan.EUI64) (device.Device, bool)
	Add(device.Device) error
	Remove(lorawan.EUI64) error
	Managed(lorawan.EUI64) bool
}

// SessionLister gives a device's network session status.
type SessionLister interface {
	Session(lorawan.EUI64) (network.SessionInfo, bool)
}

// SiteLister lists the sites.
type SiteLister interface {
	Sites() []site.Site
}

// SeriesReader reads stored measurements.
type SeriesReader interface {
	Series() []store.SeriesInfo
	Range(ctx context.Context, keys []string, from, to time.Time) ([]store.Series, error)
	Last(ctx context.Context, keys []string) ([]store.Series, error)
	Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateSeries, error)
}

// Downlinker queues downlinks and builds profile commands.
type Downlinker interface {
	EnqueueDownlinkExpiring(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error)
	Downlink(profileID, command string, args map[string]float64) (profile.Downlink, error)
}

func parseEUI(r *http.Request) (lorawan.EUI64, error) {
	var eui lorawan.EUI64
	v := r.PathValue("dev_eui")
	if fe := inputerr.Hex("dev_eui", v, len(eui)); fe != nil {
		return eui, badField(fe)
	}
	if err := eui.UnmarshalText([]byte(v)); err != nil {
		return eui, badRequest("dev_eui: expected 16 hex digits", err)
	}
	return eui, nil
}

func (s *Server) listGateways(w http.ResponseWriter, _ *http.Request) error {
	if s.opts.Gateways == nil {
		return errNotConfigured
	}
	type gw struct {
		ID              string           `json:"id"`
		Addr            string           `json:"addr,omitempty"`
		ProtocolVersion uint8            `json:"protocol_version"`
		LastSeen        time.Time        `json:"last_seen"`
		LastPullData    *time.Time       `json:"last_pull_data,omitempty"`
		RXReceived      uint64           `json:"rx_received"`
		RXOK            uint64           `json:"rx_ok"`
		TXSent          uint64           `json:"tx_sent"`
		TXAcked         uint64           `json:"tx_acked"`
		TXErrors        uint64           `json:"tx_errors"`
		RXRejected      uint64           `json:"rx_rejected"`
		GPSTimeRejected uint64           `json:"gps_time_rejected"`
		TXAckMissing    uint64           `json:"tx_ack_missing"`
		Stat            *semtechudp.Stat `json:"stat,omitempty"`
	}
	out := []gw{}
	for _, g := range s.opts.Gateways.Gateways() {
		o := gw{ID: g.ID.String(), ProtocolVersion: g.ProtocolVersion, LastSeen: g.LastSeen,
			RXReceived: g.RXReceived, RXOK: g.RXOK, TXSent: g.TXSent, TXAcked: g.TXAcked, TXErrors: g.TXErrors,
			RXRejected: g.RXRejected, GPSTimeRejected: g.GPSTimeRejected, TXAckMissing: g.TXAckMissing, Stat: g.Stat}
		if g.Addr.IsValid() {
			o.Addr = g.Addr.String()
		}
		if !g.LastPullData.IsZero() {
			t := g.LastPullData
			o.LastPullData = &t
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateways": out})
	return nil
}

func (s *Server) listSites(w http.ResponseWriter, _ *http.Request) error {
	sites := []site.Site{}
	if s.opts.Sites != nil {
		sites = append(sites, s.opts.Sites.Sites()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": sites})
	return nil
}

// deviceView is a device as the API shows it: never with keys.
type deviceView struct {
	device.Device
	Managed bool         `json:"managed_by_config"`
	Session *sessionView `json:"session,omitempty"`
	MAC     *MACView     `json:"mac,omitempty"`
}

type sessionView struct {
	DevAddr     string    `json:"dev_addr"`
	FCntUp      uint32    `json:"f_cnt_up"`
	NFCntDown   uint32    `json:"n_f_cnt_down"`
	LastSeen    time.Time `json:"last_seen"`
	LastGateway string    `json:"last_gateway"`
	// Signal of the last uplink's best reception; absent until the
	// device is heard after a restart.
	RSSI     *int     `json:"rssi,omitempty"`
	SNR      *float64 `json:"snr,omitempty"`
	Gateways int      `json:"gateways,omitempty"`
	QueueLen int      `json:"downlink_queue"`
}

func (s *Server) view(d device.Device) deviceView {
	v := deviceView{Device: d, Managed: s.opts.Devices.Managed(d.DevEUI)}
	if s.opts.Sessions != nil {
		if si, ok := s.opts.Sessions.Session(d.DevEUI); ok {
			v.Session = &sessionView{DevAddr: si.DevAddr.String(), FCntUp: si.FCntUp, NFCntDown: si.NFCntDown,
				LastSeen: si.LastSeen, LastGateway: si.LastGateway.String(), QueueLen: si.QueueLen, Gateways: si.Gateways}
			if si.Gateways > 0 {
				rssi, snr := si.RSSI, si.SNR
				v.Session.RSSI, v.Session.SNR = &rssi, &snr
			}
		}
	}
	v.MAC, _ = s.macView(d.DevEUI)
	return v
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil {
		return errNotConfigured
	}
	q := r.URL.Query()
	out := []deviceView{}
	for _, d := range s.opts.Devices.List() {
		if p := q.Get("profile"); p != "" && d.Profile != p {
			continue
		}
		if st := q.Get("site"); st != "" && d.Site != st {
			continue
		}
		out = append(out, s.view(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	d, ok := s.opts.Devices.Get(eui)
	if !ok {
		return s.noDevice(eui)
	}
	writeJSON(w, http.StatusOK, s.view(d))
	return nil
}

// deviceInput is what POST and PUT accept: the device with its keys, which
// are write-only.
type deviceInput struct {
	DevEUI     *lorawan.EUI64    `json:"dev_eui"`
	Name       string            `json:"name"`
	Activation device.Activation `json:"activation"`
	Class      device.Class      `json:"class"`
	MACVersion string            `json:"mac_version"`
	Profile    string            `json:"profile"`
	Site       string            `json:"site"`
	Tags       []string          `json:"tags"`
	JoinEUI    lorawan.EUI64     `json:"join_eui"`
	AppKey     lorawan.AES128Key `json:"app_key"`
	DevAddr    lorawan.DevAddr   `json:"dev_addr"`
	NwkSKey    lorawan.AES128Key `json:"nwk_s_key"`
	AppSKey    lorawan.AES128Key `json:"app_s_key"`
}

func (in deviceInput) device() device.Device {
	d := device.Device{Name: in.Name, Activation: in.Activation, Class: in.Class, MACVersion: in.MACVersion,
		Profile: in.Profile, Site: in.Site, Tags: in.Tags, JoinEUI: in.JoinEUI, AppKey: in.AppKey,
		DevAddr: in.DevAddr, NwkSKey: in.NwkSKey, AppSKey: in.AppSKey}
	if in.DevEUI != nil {
		d.DevEUI = *in.DevEUI
	}
	return d
}

func (s *Server) saveDevice(w http.ResponseWriter, d device.Device, status int) error {
	if err := d.Validate(); err != nil {
		return badRequest(strings.ReplaceAll(err.Error(), "\n", "; "), err)
	}
	if s.opts.Downlinks != nil && d.Profile != "" {
		// Profile existence: asking for a command that cannot exist tells
		// an unknown profile from a known one.
		if _, err := s.opts.Downlinks.Downlink(d.Profile, "\x00", nil); errors.Is(err, profile.ErrUnknownProfile) {
			return badRequest("unknown firmware profile "+strings.TrimPrefix(err.Error(), profile.ErrUnknownProfile.Error()+" "), err)
		}
	}
	if err := s.opts.Devices.Add(d); err != nil {
		if errors.Is(err, device.ErrManaged) {
			return &Error{Status: http.StatusConflict, Code: "managed_by_config", Message: "this device is listed in the configuration file; change it there"}
		}
		return err
	}
	writeJSON(w, status, s.view(d))
	return nil
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil {
		return errNotConfigured
	}
	var in deviceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := in.device()
	if _, exists := s.opts.Devices.Get(d.DevEUI); exists {
		return &Error{Status: http.StatusConflict, Code: "exists", Message: "device " + d.DevEUI.String() + " exists; use PUT to change it"}
	}
	return s.saveDevice(w, d, http.StatusCreated)
}

func (s *Server) putDevice(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	var in deviceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.DevEUI != nil && *in.DevEUI != eui {
		return badRequest("dev_eui in the body differs from the path", nil)
	}
	in.DevEUI = &eui
	d := in.device()
	// Keys are write-only: a change that leaves them out keeps the old ones.
	if old, ok := s.opts.Devices.Get(eui); ok {
		var zero lorawan.AES128Key
		if d.AppKey == zero {
			d.AppKey = old.AppKey
		}
		if d.NwkSKey == zero {
			d.NwkSKey = old.NwkSKey
		}
		if d.AppSKey == zero {
			d.AppSKey = old.AppSKey
		}
	}
	return s.saveDevice(w, d, http.StatusOK)
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	switch err := s.opts.Devices.Remove(eui); {
	case errors.Is(err, device.ErrNotFound):
		return s.noDevice(eui)
	case errors.Is(err, device.ErrManaged):
		return &Error{Status: http.StatusConflict, Code: "managed_by_config", Message: "this device is listed in the configuration file; remove it there"}
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type pointView struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

type seriesView struct {
	store.SeriesInfo
	Points []pointView `json:"points"`
}

func (s *Server) deviceLatest(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Series == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	var keys []string
	for _, si := range s.opts.Series.Series() {
		if si.Device == eui.String() {
			keys = append(keys, si.Key)
		}
	}
	out := []seriesView{}
	if len(keys) > 0 {
		got, err := s.opts.Series.Last(r.Context(), keys)
		if err != nil {
			return err
		}
		for _, sr := range got {
			out = append(out, toView(sr))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dev_eui": eui.String(), "latest": out})
	return nil
}

func toView(sr store.Series) seriesView {
	v := seriesView{SeriesInfo: sr.SeriesInfo, Points: make([]pointView, len(sr.Points))}
	for i, p := range sr.Points {
		v.Points[i] = pointView{Time: p.Time, Value: p.Value}
	}
	return v
}

func (s *Server) listSeries(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Series == nil {
		return errNotConfigured
	}
	dev := r.URL.Query().Get("device")
	out := []store.SeriesInfo{}
	for _, si := range s.opts.Series.Series() {
		if dev == "" || si.Device == dev {
			out = append(out, si)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"series": out})
	return nil
}

const maxSeriesPerQuery = 200

// querySeries answers GET /api/v1/series/query?key=K&key=K2&from=&to=
// [&every=1h&agg=mean]: raw points, or aggregates per interval.
func (s *Server) querySeries(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Series == nil {
		return errNotConfigured
	}
	q := r.URL.Query()
	keys := q["key"]
	if len(keys) == 0 || len(keys) > maxSeriesPerQuery {
		return badRequest("give 1 to 200 key parameters (see GET /api/v1/series)", nil)
	}
	from, to, err := s.timeRange(q.Get("from"), q.Get("to"), 24*time.Hour)
	if err != nil {
		return err
	}
	every := q.Get("every")
	if every == "" {
		if to.Sub(from) > 31*24*time.Hour {
			return badRequest("raw queries span at most 31 days; use every= to aggregate", nil)
		}
		got, err := s.opts.Series.Range(r.Context(), keys, from, to)
		if err != nil {
			return err
		}
		out := []seriesView{}
		for _, sr := range got {
			out = append(out, toView(sr))
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "series": out})
		return nil
	}
	step, err := time.ParseDuration(every)
	if err != nil || step < time.Minute {
		return badRequest("every: a duration of at least 1m, e.g. 15m, 1h, 24h, got "+inputerr.Quote(every), err)
	}
	if to.Sub(from)/step > 10000 {
		return badRequest("at most 10000 intervals per query", nil)
	}
	agg := q.Get("agg")
	if agg == "" {
		agg = "mean"
	}
	pick, ok := aggregates[agg]
	if !ok {
		return badRequest("agg: one of min, max, mean, sum, count, first, last, increase, got "+inputerr.Quote(agg), nil)
	}
	got, err := s.opts.Series.Aggregate(r.Context(), store.AggregateQuery{Keys: keys, From: from, To: to, Every: step})
	if err != nil {
		return err
	}
	type bucket struct {
		Start time.Time `json:"start"`
		Value *float64  `json:"value"`
		Count int       `json:"count"`
	}
	type aggView struct {
		store.SeriesInfo
		Agg     string   `json:"agg"`
		Buckets []bucket `json:"buckets"`
	}
	out := []aggView{}
	for _, as := range got {
		v := aggView{SeriesInfo: as.SeriesInfo, Agg: agg}
		for _, b := range as.Buckets {
			bv := bucket{Start: b.Start, Count: b.Count}
			if x := pick(b); !math.IsNaN(x) && (b.Count > 0 || agg == "count" || agg == "sum") {
				bv.Value = &x
			}
			v.Buckets = append(v.Buckets, bv)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "every": every, "series": out})
	return nil
}

var aggregates = map[string]func(store.Bucket) float64{
	"min": func(b store.Bucket) float64 { return b.Min }, "max": func(b store.Bucket) float64 { return b.Max },
	"mean": func(b store.Bucket) float64 { return b.Mean }, "sum": func(b store.Bucket) float64 { return b.Sum },
	"count": func(b store.Bucket) float64 { return float64(b.Count) }, "first": func(b store.Bucket) float64 { return b.First },
	"last": func(b store.Bucket) float64 { return b.Last }, "increase": func(b store.Bucket) float64 { return b.Increase },
}

// timeRange parses the from and to parameters: RFC 3339, a date, or a
// duration back ("-6h"; for to from now, for from from to). Missing: to is
// now, from is span before to.
func (s *Server) timeRange(fromV, toV string, span time.Duration) (from, to time.Time, err error) {
	now := s.opts.Now()
	if to, err = parseTime(toV, now); err != nil {
		return from, to, badRequest("to: "+timeExpected+", got "+inputerr.Quote(toV), err)
	}
	if fromV == "" {
		from = to.Add(-span)
	} else if from, err = parseTime(fromV, to); err != nil {
		return from, to, badRequest("from: "+timeExpected+", got "+inputerr.Quote(fromV), err)
	}
	if !from.Before(to) {
		return from, to, badRequest("from must be before to", nil)
	}
	return from, to, nil
}

// timeExpected says what from and to accept.
const timeExpected = "expected a duration like -24h or a date YYYY-MM-DD (or a time like 2026-01-02T15:04:05Z)"

// parseTime accepts RFC 3339, a date, or a duration back from base ("-6h").
func parseTime(v string, base time.Time) (time.Time, error) {
	if v == "" {
		return base, nil
	}
	if strings.HasPrefix(v, "-") {
		d, err := time.ParseDuration(v[1:])
		if err != nil {
			return time.Time{}, err
		}
		return base.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// downlinkInput is a profile command or a raw payload.
type downlinkInput struct {
	Command   string             `json:"command"`
	Args      map[string]float64 `json:"args"`
	FPort     uint8              `json:"f_port"`
	Hex       string             `json:"hex"`
	Confirmed bool               `json:"confirmed"`
	Expiry    string             `json:"expiry"`     // a duration: not sent after now + expiry
	ExpiresAt string             `json:"expires_at"` // or an RFC 3339 instant
}

func (s *Server) enqueueDownlink(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Downlinks == nil || s.opts.Devices == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	d, ok := s.opts.Devices.Get(eui)
	if !ok {
		return s.noDevice(eui)
	}
	var in downlinkInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var dl profile.Downlink
	switch {
	case in.Command != "" && in.Hex != "":
		return badRequest("give either command or hex, not both", nil)
	case in.Command != "":
		dl, err = s.opts.Downlinks.Downlink(d.Profile, in.Command, in.Args)
		if err != nil {
			return badRequest("command: "+err.Error(), err)
		}
		dl.Confirmed = dl.Confirmed || in.Confirmed
	case in.Hex != "":
		if in.FPort == 0 || in.FPort > 223 {
			return badRequest(fmt.Sprintf("f_port: 1..223, got %d", in.FPort), nil)
		}
		b, err := hex.DecodeString(in.Hex)
		if err != nil {
			return badRequest("hex: expected pairs of hex digits (0-9, a-f), got "+inputerr.Quote(in.Hex), err)
		}
		dl = profile.Downlink{FPort: in.FPort, Payload: b, Confirmed: in.Confirmed}
	default:
		return badRequest("give a command (see the device's profile) or f_port and hex", nil)
	}
	now := s.opts.Now()
	expiry, err := network.ParseExpiry(in.Expiry, in.ExpiresAt, now)
	if err != nil {
		return badRequest(err.Error(), err)
	}
	id, err := s.opts.Downlinks.EnqueueDownlinkExpiring(eui, dl.FPort, dl.Payload, dl.Confirmed, expiry)
	switch {
	case errors.Is(err, network.ErrExpired):
		return badRequest("expires_at: already passed", err)
	case errors.Is(err, network.ErrQueueFull):
		return &Error{Status: http.StatusTooManyRequests, Code: "queue_full", Message: "the device's downlink queue is full", Err: err}
	case errors.Is(err, network.ErrPayloadSize):
		return badRequest(payloadTooLarge(err, len(dl.Payload)), err)
	case errors.Is(err, network.ErrUnknownDevice):
		return badRequest("dev_eui: the network layer does not know this device yet", err)
	case err != nil:
		return err
	}
	out := map[string]any{"id": id, "dev_eui": eui.String(), "f_port": dl.FPort,
		"hex": hex.EncodeToString(dl.Payload), "confirmed": dl.Confirmed}
	if expiry > 0 {
		out["expires_at"] = now.Add(expiry).UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// payloadTooLarge words a payload the network layer refused for its size.
func payloadTooLarge(err error, n int) string {
	if pe := (*network.PayloadSizeError)(nil); errors.As(err, &pe) {
		return pe.Error()
	}
	return fmt.Sprintf("payload: too large for this device, got %d bytes", n)
}
