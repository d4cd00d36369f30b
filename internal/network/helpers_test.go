package network

import (
	"context"
	"crypto/aes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 15, 6, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sender records downlinks; fail, when set, decides per downlink whether the
// gateway refuses it at once.
type sender struct {
	mu   sync.Mutex
	got  []Downlink
	fail func(Downlink) error
}

func (r *sender) SendDownlink(_ context.Context, d Downlink) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
	if r.fail != nil {
		return r.fail(d)
	}
	return nil
}

func (r *sender) all() []Downlink {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Downlink(nil), r.got...)
}

type handler struct {
	mu   sync.Mutex
	got  []uplink.Uplink
	ch   chan uplink.Uplink
	hook func(uplink.Uplink)
}

func (h *handler) HandleUplink(_ context.Context, up uplink.Uplink) error {
	if h.hook != nil {
		h.hook(up)
	}
	h.mu.Lock()
	h.got = append(h.got, up)
	h.mu.Unlock()
	if h.ch != nil {
		h.ch <- up
	}
	return nil
}

func (h *handler) all() []uplink.Uplink {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uplink.Uplink(nil), h.got...)
}

type env struct {
	t     testing.TB
	s     *Server
	clock *fakeClock
	devs  *device.Registry
	path  string
	tx    *sender
	up    *handler
	ctx   context.Context
	opts  Options
}

var (
	testNetID = lorawan.NetID{0x00, 0x00, 0x13}
	gw1       = lorawan.EUI64{0xaa, 0, 0, 0, 0, 0, 0, 1}
	gw2       = lorawan.EUI64{0xaa, 0, 0, 0, 0, 0, 0, 2}
	gw3       = lorawan.EUI64{0xaa, 0, 0, 0, 0, 0, 0, 3}
)

func abpDevice(n byte) device.Device {
	return device.Device{
		DevEUI:     lorawan.EUI64{0x70, 0xb3, 0xd5, 0, 0, 0, 0, n},
		Name:       "abp",
		Activation: device.ABP,
		Class:      device.ClassA,
		MACVersion: "1.0.3",
		DevAddr:    lorawan.DevAddr{0x26, 0x01, 0x10, n},
		NwkSKey:    lorawan.AES128Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, n},
		AppSKey:    lorawan.AES128Key{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, n},
	}
}

func otaaDevice(n byte, macVersion string) device.Device {
	return device.Device{
		DevEUI:     lorawan.EUI64{0x00, 0x80, 0, 0, 0, 0, 0, n},
		Name:       "otaa",
		Activation: device.OTAA,
		Class:      device.ClassA,
		MACVersion: macVersion,
		JoinEUI:    lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1},
		AppKey:     lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, n},
	}
}

// newEnv builds a server on a temporary bbolt file with a fake clock. The
// tests drive it with e.flush() (the loop's tick) unless they start Run.
func newEnv(t testing.TB, devs []device.Device, mod func(*Options)) *env {
	t.Helper()
	reg, err := device.NewRegistry(devs)
	require.NoError(t, err)
	e := &env{
		t:     t,
		clock: newFakeClock(),
		devs:  reg,
		path:  filepath.Join(t.TempDir(), "state.db"),
		tx:    &sender{},
		up:    &handler{},
		ctx:   context.Background(),
	}
	e.opts = Options{
		Config: Config{DedupWindow: 200 * time.Millisecond, NetID: testNetID},
		// No extra channels: an ABP device would be sent NewChannelReqs
		// for them. Tests of the CFList and the MAC engine set them.
		ExtraChannels: []uint32{},
		Devices:       reg,
		StatePath:     e.path,
		Sender:        e.tx,
		Handler:       e.up,
		Registerer:    prometheus.NewRegistry(),
		Now:           e.clock.Now,
	}
	if mod != nil {
		mod(&e.opts)
	}
	e.open()
	return e
}

func (e *env) open() {
	e.t.Helper()
	e.opts.Registerer = prometheus.NewRegistry()
	s, err := NewServer(e.opts)
	require.NoError(e.t, err)
	e.s = s
	e.t.Cleanup(func() { _ = s.Close() })
}

// restart closes the server and its bbolt file and opens both again.
func (e *env) restart() {
	e.t.Helper()
	require.NoError(e.t, e.s.Close())
	e.open()
}

// flush lets the dedup window close and processes what is due.
func (e *env) flush() {
	e.clock.Advance(e.opts.DedupWindow + time.Millisecond)
	e.s.tick(e.ctx)
}

func rx(gw lorawan.EUI64, snr float64, tmst uint32) uplink.RxInfo {
	return uplink.RxInfo{GatewayID: gw, RSSI: -80, SNR: snr, Frequency: 868100000, DataRate: "SF7BW125", Tmst: tmst}
}

// deliver hands the frame to the server as heard by the given gateways and
// processes it.
func (e *env) deliver(phy []byte, rxs ...uplink.RxInfo) {
	e.t.Helper()
	if len(rxs) == 0 {
		rxs = []uplink.RxInfo{rx(gw1, 7.5, 1_000_000)}
	}
	for _, r := range rxs {
		r.ReceivedAt = e.clock.Now()
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: r})
	}
	e.flush()
}

func (e *env) uplinks(result string) float64 {
	return testutil.ToFloat64(e.s.m.uplinks.WithLabelValues(result))
}

func (e *env) joins(result string) float64 {
	return testutil.ToFloat64(e.s.m.joins.WithLabelValues(result))
}

// upFrame is how a device builds a data uplink (LoRaWAN 1.0).
type upFrame struct {
	addr      lorawan.DevAddr
	nwk, app  lorawan.AES128Key
	fcnt      uint32
	fport     *uint8
	payload   []byte
	confirmed bool
	ack       bool
	adr       bool
	adrAckReq bool
	fopts     []lorawan.Payload
}

func port(p uint8) *uint8 { return &p }

func (f upFrame) bytes(t testing.TB) []byte {
	t.Helper()
	mtype := lorawan.UnconfirmedDataUp
	if f.confirmed {
		mtype = lorawan.ConfirmedDataUp
	}
	mac := &lorawan.MACPayload{
		FHDR:  lorawan.FHDR{DevAddr: f.addr, FCtrl: lorawan.FCtrl{ACK: f.ack, ADR: f.adr, ADRACKReq: f.adrAckReq}, FCnt: f.fcnt, FOpts: f.fopts},
		FPort: f.fport,
	}
	if f.fport != nil && f.payload != nil {
		mac.FRMPayload = []lorawan.Payload{&lorawan.DataPayload{Bytes: append([]byte(nil), f.payload...)}}
	}
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1}, MACPayload: mac}
	key := f.app
	if f.fport != nil && *f.fport == 0 {
		key = f.nwk
	}
	require.NoError(t, phy.EncryptFRMPayload(key))
	require.NoError(t, phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, f.nwk, f.nwk))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

func abpFrame(d device.Device, fcnt uint32, payload []byte) upFrame {
	return upFrame{addr: d.DevAddr, nwk: d.NwkSKey, app: d.AppSKey, fcnt: fcnt, fport: port(2), payload: payload}
}

// joinRequest is how a device builds a join-request.
func joinRequest(t testing.TB, d device.Device, nonce lorawan.DevNonce) []byte {
	t.Helper()
	phy := lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{JoinEUI: d.JoinEUI, DevEUI: d.DevEUI, DevNonce: nonce},
	}
	require.NoError(t, phy.SetUplinkJoinMIC(d.AppKey))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

// deviceKeys is the device's own derivation of the LoRaWAN 1.0 session keys,
// written from the specification's formula independently of the server code.
func deviceKeys(t testing.TB, appKey lorawan.AES128Key, ja *lorawan.JoinAcceptPayload, nonce lorawan.DevNonce) (nwk, app lorawan.AES128Key) {
	t.Helper()
	block, err := aes.NewCipher(appKey[:])
	require.NoError(t, err)
	jn, err := ja.JoinNonce.MarshalBinary()
	require.NoError(t, err)
	nid, err := ja.HomeNetID.MarshalBinary()
	require.NoError(t, err)
	dn, err := nonce.MarshalBinary()
	require.NoError(t, err)
	for i, k := range []*lorawan.AES128Key{&nwk, &app} {
		var in [16]byte
		in[0] = byte(i + 1)
		copy(in[1:4], jn)
		copy(in[4:7], nid)
		copy(in[7:9], dn)
		block.Encrypt(k[:], in[:])
	}
	return nwk, app
}

// decodeDown parses a data downlink as the device would: MIC with NwkSKey,
// FRMPayload decrypted with AppSKey.
func decodeDown(t testing.TB, b []byte, nwk, app lorawan.AES128Key) (*lorawan.PHYPayload, *lorawan.MACPayload) {
	t.Helper()
	var phy lorawan.PHYPayload
	require.NoError(t, phy.UnmarshalBinary(b))
	ok, err := phy.ValidateDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, nwk)
	require.NoError(t, err)
	require.True(t, ok, "downlink MIC")
	mac := phy.MACPayload.(*lorawan.MACPayload)
	if mac.FPort != nil && *mac.FPort > 0 {
		require.NoError(t, phy.DecryptFRMPayload(app))
	}
	require.NoError(t, phy.DecodeFOptsToMACCommands())
	return &phy, mac
}
