package network

import (
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/mac"
	"github.com/loraedge/loraedge/internal/secret"
)

// downMAC returns the MAC commands of a data downlink as the device reads
// them: from FOpts, or decrypted with the NwkSKey from an FPort 0
// FRMPayload, parsed with the spec's byte layouts.
func downMAC(t *testing.T, dl Downlink, d device.Device) (cmds []lorawan.MACCommand, port0 bool) {
	t.Helper()
	phy, m := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
	var raw []byte
	if m.FPort != nil && *m.FPort == 0 {
		require.Empty(t, m.FHDR.FOpts, "FOpts and FPort 0 never both carry commands")
		require.NoError(t, phy.DecryptFRMPayload(d.NwkSKey))
		port0 = true
	}
	// The library decodes the decrypted port 0 payload into commands
	// already; they are encoded back and parsed by the spec's layouts.
	for _, p := range append(m.FHDR.FOpts, m.FRMPayload...) {
		b, err := p.MarshalBinary()
		require.NoError(t, err)
		raw = append(raw, b...)
	}
	cmds, err := mac.ParseDownlink(raw)
	require.NoError(t, err)
	return cmds, port0
}

// macEnv is one ABP device and its uplinks.
type macEnv struct {
	*env
	d    device.Device
	fcnt uint32
}

func newMACEnv(t *testing.T, mod func(*Options)) *macEnv {
	d := abpDevice(1)
	return &macEnv{env: newEnv(t, []device.Device{d}, mod), d: d}
}

// up sends the next uplink with the given answers in FOpts and returns the
// MAC commands of the downlink it got, nil for none.
func (m *macEnv) up(answers ...lorawan.MACCommand) []lorawan.MACCommand {
	m.t.Helper()
	m.fcnt++
	f := abpFrame(m.d, m.fcnt, []byte{1})
	for i := range answers {
		f.fopts = append(f.fopts, &answers[i])
	}
	before := len(m.tx.all())
	m.deliver(f.bytes(m.t))
	dls := m.tx.all()
	if len(dls) == before {
		return nil
	}
	require.Len(m.t, dls, before+1)
	cmds, _ := downMAC(m.t.(*testing.T), dls[before], m.d)
	return cmds
}

func (m *macEnv) info() SessionInfo {
	m.t.Helper()
	info, ok := m.s.Session(m.d.DevEUI)
	require.True(m.t, ok)
	return info
}

func cidsOf(cmds []lorawan.MACCommand) []lorawan.CID {
	var out []lorawan.CID
	for _, c := range cmds {
		out = append(out, c.CID)
	}
	return out
}

// TestMACRequestPaths takes each server-initiated command through its
// path: the request built from the configuration, an accepting answer
// committed (and no request after it), a refusing one not.
func TestMACRequestPaths(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*Options)
		want   lorawan.MACCommand
		ack    lorawan.MACCommand
		nack   lorawan.MACCommand
		result string // of the nack
		check  func(t *testing.T, ss *session, committed bool)
	}{
		{
			name: "RXParamSetup",
			mod:  func(o *Options) { o.RX1DROffset, o.RX2DataRate, o.RX2Frequency = 2, 3, 869100000 },
			want: lorawan.MACCommand{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{
				Frequency: 869100000, DLSettings: lorawan.DLSettings{RX2DataRate: 3, RX1DROffset: 2}}},
			ack: lorawan.MACCommand{CID: lorawan.RXParamSetupAns, Payload: &lorawan.RXParamSetupAnsPayload{
				ChannelACK: true, RX2DataRateACK: true, RX1DROffsetACK: true}},
			nack: lorawan.MACCommand{CID: lorawan.RXParamSetupAns, Payload: &lorawan.RXParamSetupAnsPayload{
				ChannelACK: false, RX2DataRateACK: true, RX1DROffsetACK: true}},
			result: "nack_channel",
			check: func(t *testing.T, ss *session, committed bool) {
				if committed {
					assert.Equal(t, []any{uint8(2), uint8(3), uint32(869100000)}, []any{ss.RX1DROffset, ss.RX2DR, ss.MAC.RX2Freq})
				} else {
					assert.Equal(t, []any{uint8(0), uint8(0), uint32(0)}, []any{ss.RX1DROffset, ss.RX2DR, ss.MAC.RX2Freq})
				}
			},
		},
		{
			name: "RXTimingSetup",
			mod:  func(o *Options) { o.RX1Delay = 3 * time.Second },
			want: lorawan.MACCommand{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: 3}},
			ack:  lorawan.MACCommand{CID: lorawan.RXTimingSetupAns},
			check: func(t *testing.T, ss *session, committed bool) {
				assert.Equal(t, uint8(3), ss.RXDelay)
			},
		},
		{
			name: "NewChannel",
			mod:  func(o *Options) { o.ExtraChannels = []uint32{867300000} },
			want: lorawan.MACCommand{CID: lorawan.NewChannelReq, Payload: &lorawan.NewChannelReqPayload{
				ChIndex: 3, Freq: 867300000, MinDR: 0, MaxDR: 5}},
			ack: lorawan.MACCommand{CID: lorawan.NewChannelAns, Payload: &lorawan.NewChannelAnsPayload{
				ChannelFrequencyOK: true, DataRateRangeOK: true}},
			nack: lorawan.MACCommand{CID: lorawan.NewChannelAns, Payload: &lorawan.NewChannelAnsPayload{
				ChannelFrequencyOK: false, DataRateRangeOK: true}},
			result: "nack_frequency",
			check: func(t *testing.T, ss *session, committed bool) {
				if committed {
					assert.Equal(t, []uint32{867300000}, ss.MAC.Channels)
				} else {
					assert.Empty(t, ss.MAC.Channels)
				}
			},
		},
		{
			name: "DutyCycle",
			mod:  func(o *Options) { o.MaxDutyCycle = 7 },
			want: lorawan.MACCommand{CID: lorawan.DutyCycleReq, Payload: &lorawan.DutyCycleReqPayload{MaxDCycle: 7}},
			ack:  lorawan.MACCommand{CID: lorawan.DutyCycleAns},
			check: func(t *testing.T, ss *session, committed bool) {
				assert.Equal(t, uint8(7), ss.MAC.DutyCycle)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMACEnv(t, tc.mod)
			cmds := m.up()
			require.Equal(t, []lorawan.MACCommand{tc.want}, cmds, "request from the configuration")
			b, _, err := mac.Pack(cmds)
			require.NoError(t, err)
			wantB, _, err := mac.Pack([]lorawan.MACCommand{tc.want})
			require.NoError(t, err)
			assert.Equal(t, wantB, b, "spec byte layout")
			if tc.nack.CID != 0 {
				cmds = m.up(tc.nack)
				tc.check(t, m.s.sessions[m.d.DevEUI], false)
				assert.Equal(t, float64(1), testutil.ToFloat64(m.s.m.macAnswered.WithLabelValues(tc.want.CID.String(), tc.result)))
				require.Equal(t, []lorawan.MACCommand{tc.want}, cmds, "a refused request is asked again")
			}
			assert.Empty(t, m.up(tc.ack), "nothing left to ask")
			tc.check(t, m.s.sessions[m.d.DevEUI], true)
			assert.Equal(t, float64(1), testutil.ToFloat64(m.s.m.macAnswered.WithLabelValues(tc.want.CID.String(), macACK)))
			assert.Empty(t, m.info().MAC.Pending)

			m.restart()
			tc.check(t, m.s.sessions[m.d.DevEUI], true)
			assert.Nil(t, m.up(), "the acknowledged state survives a restart")
		})
	}
}

func TestDevStatusBecomesUplinkStatus(t *testing.T) {
	m := newMACEnv(t, func(o *Options) { o.DevStatusInterval = time.Hour })
	require.Equal(t, []lorawan.CID{lorawan.DevStatusReq}, cidsOf(m.up()))
	ans := lorawan.MACCommand{CID: lorawan.DevStatusAns, Payload: &lorawan.DevStatusAnsPayload{Battery: 128, Margin: -5}}
	assert.Nil(t, m.up(ans))
	ups := m.env.up.all()
	require.Len(t, ups, 2)
	require.NotNil(t, ups[1].MAC)
	assert.Equal(t, uint8(128), ups[1].MAC.Battery)
	assert.Equal(t, -5, ups[1].MAC.Margin)
	pct, ok := ups[1].MAC.BatteryPercent()
	require.True(t, ok)
	assert.InDelta(t, 50.2, pct, 1e-9, "(128-1)/253")
	ds := m.info().MAC.DevStatus
	require.NotNil(t, ds)
	require.NotNil(t, ds.BatteryPercent)
	assert.InDelta(t, 50.2, *ds.BatteryPercent, 1e-9)
	assert.Equal(t, -5, ds.Margin)

	// Not again within the interval, again after it.
	m.clock.Advance(30 * time.Minute)
	assert.Nil(t, m.up())
	m.clock.Advance(31 * time.Minute)
	assert.Equal(t, []lorawan.CID{lorawan.DevStatusReq}, cidsOf(m.up()))

	// Unanswered it is given up on, and asked again one interval later.
	for range 3 {
		assert.Equal(t, []lorawan.CID{lorawan.DevStatusReq}, cidsOf(m.up()), "retries")
	}
	assert.Nil(t, m.up())
	assert.Equal(t, []string{"DevStatusReq"}, m.info().MAC.NotAnswering)
	m.clock.Advance(time.Hour)
	assert.Equal(t, []lorawan.CID{lorawan.DevStatusReq}, cidsOf(m.up()))
	assert.Nil(t, m.up(ans))
	assert.Empty(t, m.info().MAC.NotAnswering, "it answers again")
}

func TestUnansweredMACStopsAfterRetries(t *testing.T) {
	m := newMACEnv(t, func(o *Options) {
		o.RX1Delay = 2 * time.Second
		o.MACRetries = 2
	})
	sent := 0
	for range 6 {
		if len(m.up()) > 0 {
			sent++
		}
	}
	assert.Equal(t, 3, sent, "the request and two retries")
	info := m.info()
	assert.Equal(t, []string{"RXTimingSetupReq"}, info.MAC.NotAnswering)
	assert.Empty(t, info.MAC.Pending)
	assert.Equal(t, float64(1), testutil.ToFloat64(m.s.m.macUnanswered.WithLabelValues("RXTimingSetupReq")))
	assert.Equal(t, float64(3), testutil.ToFloat64(m.s.m.macSent.WithLabelValues("RXTimingSetupReq")))

	// A restart keeps it given up; a changed configuration tries again.
	m.restart()
	assert.Nil(t, m.up())
	m.opts.RX1Delay = 4 * time.Second
	m.restart()
	assert.Equal(t, []lorawan.CID{lorawan.RXTimingSetupReq}, cidsOf(m.up()))
}

func TestMACCommandsOver15BytesGoOnPort0(t *testing.T) {
	chans := []uint32{867100000, 867300000, 867500000, 867700000, 867900000}
	m := newMACEnv(t, func(o *Options) { o.ExtraChannels = chans })
	m.fcnt++
	m.deliver(abpFrame(m.d, m.fcnt, []byte{1}).bytes(t))
	dls := m.tx.all()
	require.Len(t, dls, 1)
	cmds, port0 := downMAC(t, dls[0], m.d)
	assert.True(t, port0, "5 NewChannelReq are 25 bytes")
	require.Len(t, cmds, 5)
	for i, c := range cmds {
		p := c.Payload.(*lorawan.NewChannelReqPayload)
		assert.Equal(t, uint8(3+i), p.ChIndex)
		assert.Equal(t, chans[i], p.Freq)
	}
	ok := lorawan.MACCommand{CID: lorawan.NewChannelAns, Payload: &lorawan.NewChannelAnsPayload{ChannelFrequencyOK: true, DataRateRangeOK: true}}
	assert.Nil(t, m.up(ok, ok, ok, ok, ok))
	assert.Equal(t, chans, m.s.sessions[m.d.DevEUI].MAC.Channels)
}

func TestADRACKReqGetsADownlink(t *testing.T) {
	m := newMACEnv(t, nil)
	f := abpFrame(m.d, 1, []byte{1})
	f.adrAckReq = true
	m.deliver(f.bytes(t))
	dls := m.tx.all()
	require.Len(t, dls, 1, "an empty downlink answers ADRACKReq")
	cmds, _ := downMAC(t, dls[0], m.d)
	assert.Empty(t, cmds)
}

// A record written before the MAC engine (the fixed part only) still
// loads, with an empty MAC state; one with MAC state keeps it, also sealed
// with a key-encryption key.
func TestSessionRecordWithMACState(t *testing.T) {
	eui := lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	old := &session{DevEUI: eui, DevAddr: lorawan.DevAddr{1, 2, 3, 4}, FCntUp: 7, HasUp: true}
	rec, err := old.marshal()
	require.NoError(t, err)
	require.Len(t, rec, sessionRecordLen, "an empty MAC state adds nothing")
	var got session
	require.NoError(t, got.unmarshal(eui[:], rec))
	assert.Equal(t, macState{}, got.MAC)

	ss := *old
	ss.MAC = macState{
		ADRKnown: true, ADR: adr.NewState(adr.Setting{DR: 3, TXPowerIndex: 2, NbTrans: 1}),
		Channels: []uint32{867100000}, Pending: []pendingCmd{{Cmd: []byte{byte(lorawan.DevStatusReq)}, Sent: 2}},
		NotAnswering: map[string]string{"DutyCycleReq": "0407"},
	}
	rec, err = ss.marshal()
	require.NoError(t, err)
	kek, err := secret.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	require.NoError(t, err)
	for _, k := range []*secret.KEK{nil, kek} {
		st := &BoltState{kek: k}
		plain, err := st.open(eui[:], st.seal(eui, rec))
		require.NoError(t, err)
		got = session{}
		require.NoError(t, got.unmarshal(eui[:], plain))
		assert.Equal(t, ss.MAC, got.MAC)
		assert.Equal(t, uint32(7), got.FCntUp)
	}
	got = session{}
	assert.Error(t, got.unmarshal(eui[:], append(rec[:sessionRecordLen:sessionRecordLen], '{')), "a corrupt tail is an error")
}

func TestDevStatusMarginIgnoresRFUBits(t *testing.T) {
	for _, tc := range []struct {
		b    byte
		want int
	}{{0x05, 5}, {0x1f, 31}, {0x20, -32}, {0x3b, -5}, {0xc5, 5}, {0xfb, -5}, {0x40, 0}} {
		var p lorawan.DevStatusAnsPayload
		require.NoError(t, p.UnmarshalBinary([]byte{1, tc.b}))
		assert.Equal(t, tc.want, devStatusMargin(p.Margin), "byte %#02x", tc.b)
	}
}

// A Class C device is sent to in the RX2 parameters it acknowledged, not in
// the configured ones it has not accepted yet.
func TestClassCUsesAcknowledgedRX2(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	m := &macEnv{env: newEnv(t, []device.Device{d}, func(o *Options) { o.RX2Frequency = 869100000 }), d: d}
	classC := func() Downlink {
		t.Helper()
		_, err := m.s.EnqueueDownlink(d.DevEUI, 30, []byte{0xc1}, false)
		require.NoError(t, err)
		m.clock.Advance(classCHoldoff)
		before := len(m.tx.all())
		m.s.sendClassC(m.ctx)
		dls := m.tx.all()
		require.Len(t, dls, before+1)
		return dls[before]
	}
	require.Equal(t, []lorawan.CID{lorawan.RXParamSetupReq}, cidsOf(m.up()))
	assert.Equal(t, uint32(869525000), classC().Frequency, "the device's default until it accepts")
	ack := lorawan.MACCommand{CID: lorawan.RXParamSetupAns, Payload: &lorawan.RXParamSetupAnsPayload{ChannelACK: true, RX2DataRateACK: true, RX1DROffsetACK: true}}
	m.up(ack)
	assert.Equal(t, uint32(869100000), classC().Frequency)
}
