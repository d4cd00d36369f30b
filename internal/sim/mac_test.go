package sim

import (
	"context"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/mac"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// macUplink is one data uplink as the MAC test peer saw it.
type macUplink struct {
	dev      lorawan.EUI64
	fcnt     uint32
	fctrl    lorawan.FCtrl
	cmds     []lorawan.MACCommand // parsed from FOpts
	dataRate string
	freq     float64
	snr      float64
	copies   int       // transmissions of this FCnt that reached the peer
	freqs    []float64 // their frequencies
}

// macDownlink is what the script answers an uplink with; nil sends none.
type macDownlink struct {
	cmds  []lorawan.MACCommand
	port0 bool // commands in an FPort 0 FRMPayload instead of FOpts
}

// macPeer plays the network server for the MAC tests: it joins the
// devices, parses the MAC answers in every uplink and answers each first
// copy of an uplink with what the script says.
type macPeer struct {
	*gwmpServer
	script func(devIdx int, up macUplink) *macDownlink

	devices  []device.Device
	sessions map[lorawan.DevAddr]*testSession
	index    map[lorawan.DevAddr]int
	ups      map[lorawan.EUI64][]*macUplink
	joined   int
}

func newMACPeer(t *testing.T, devs []device.Device, script func(int, macUplink) *macDownlink) *macPeer {
	t.Helper()
	p := &macPeer{script: script, devices: devs,
		sessions: map[lorawan.DevAddr]*testSession{}, index: map[lorawan.DevAddr]int{}, ups: map[lorawan.EUI64][]*macUplink{}}
	p.gwmpServer = listenGWMP(t)
	p.start(p.handleRX)
	return p
}

// handleRX runs with mu held.
func (p *macPeer) handleRX(gw lorawan.EUI64, rx semtechudp.RXPK) {
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(rx.Data); err != nil {
		p.t.Errorf("uplink: %v", err)
		return
	}
	switch phy.MHDR.MType {
	case lorawan.JoinRequest:
		jr := phy.MACPayload.(*lorawan.JoinRequestPayload)
		for i, d := range p.devices {
			if d.DevEUI != jr.DevEUI {
				continue
			}
			p.joined++
			addr, ja, s := joinSession(p.t, d, rx.Data, byte(p.joined))
			p.sessions[addr] = s
			p.index[addr] = i
			p.pullResp(gw, 7, rx, ja)
		}
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		p.handleData(gw, phy, rx)
	}
}

func (p *macPeer) handleData(gw lorawan.EUI64, phy lorawan.PHYPayload, rx semtechudp.RXPK) {
	mp := phy.MACPayload.(*lorawan.MACPayload)
	s := p.sessions[mp.FHDR.DevAddr]
	if s == nil {
		return // a session from an earlier join
	}
	if !s.verify(p.t, phy) {
		return
	}
	ups := p.ups[s.dev.DevEUI]
	if n := len(ups); n > 0 && ups[n-1].fcnt == mp.FHDR.FCnt {
		ups[n-1].copies++ // NbTrans: the same frame again
		ups[n-1].freqs = append(ups[n-1].freqs, rx.Freq)
		return
	}
	var raw []byte
	for _, o := range mp.FHDR.FOpts {
		b, err := o.MarshalBinary()
		require.NoError(p.t, err)
		raw = append(raw, b...)
	}
	cmds, err := mac.ParseUplink(raw)
	assert.NoError(p.t, err, "uplink FOpts")
	up := &macUplink{dev: s.dev.DevEUI, fcnt: mp.FHDR.FCnt, fctrl: mp.FHDR.FCtrl, cmds: cmds,
		dataRate: rx.DatR.LoRa, freq: rx.Freq, snr: rx.LSNR, copies: 1, freqs: []float64{rx.Freq}}
	p.ups[s.dev.DevEUI] = append(ups, up)
	dl := p.script(p.index[mp.FHDR.DevAddr], *up)
	if dl == nil {
		return
	}
	p.pullResp(gw, 7, rx, macDown(p.t, mp.FHDR.DevAddr, s, *dl))
	s.fCntDown++
}

// macDown builds an unconfirmed downlink carrying MAC commands.
func macDown(t testing.TB, addr lorawan.DevAddr, s *testSession, dl macDownlink) []byte {
	t.Helper()
	b, fits, err := mac.Pack(dl.cmds)
	require.NoError(t, err)
	pl := &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: addr, FCnt: s.fCntDown}}
	if dl.port0 || !fits {
		port := uint8(0)
		pl.FPort = &port
		pl.FRMPayload = []lorawan.Payload{&lorawan.DataPayload{Bytes: b}}
	} else if len(b) > 0 {
		pl.FHDR.FOpts = []lorawan.Payload{&lorawan.DataPayload{Bytes: b}}
	}
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataDown, Major: lorawan.LoRaWANR1}, MACPayload: pl}
	if pl.FPort != nil {
		require.NoError(t, phy.EncryptFRMPayload(s.nwk))
	}
	require.NoError(t, phy.SetDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, s.nwk))
	out, err := phy.MarshalBinary()
	require.NoError(t, err)
	return out
}

func linkADRReq(dr, power, nbTrans uint8, channels ...int) lorawan.MACCommand {
	var m lorawan.ChMask
	for _, c := range channels {
		m[c] = true
	}
	return lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{
		DataRate: dr, TXPower: power, ChMask: m, Redundancy: lorawan.Redundancy{NbRep: nbTrans}}}
}

// answers returns the uplink's commands by CID.
func answers(up macUplink) map[lorawan.CID][]lorawan.MACCommandPayload {
	out := map[lorawan.CID][]lorawan.MACCommandPayload{}
	for _, c := range up.cmds {
		out[c.CID] = append(out[c.CID], c.Payload)
	}
	return out
}

// TestDevicesObeyMACCommands plays the network server over real GWMP: it
// sends MAC commands in FOpts and on FPort 0 and reads each device's
// answers and new radio settings from its next uplinks.
func TestDevicesObeyMACCommands(t *testing.T) {
	fixed := LinkModel{MinSNR: 8, MaxSNR: 8} // no fading: exact SNRs
	fc := FieldConfig{Devices: 3, Interval: 10 * time.Minute, Duration: 80 * time.Minute, Link: &fixed, RefuseChMask: []int{1}, ADROff: []int{2}}
	devs, err := FieldDevices(fc)
	require.NoError(t, err)
	script := func(dev int, up macUplink) *macDownlink {
		switch {
		case dev == 1 && up.fcnt == 0:
			return &macDownlink{cmds: []lorawan.MACCommand{linkADRReq(5, 2, 1, 0, 1, 2)}}
		case dev >= 1:
			return nil
		}
		switch up.fcnt {
		case 0:
			return &macDownlink{cmds: []lorawan.MACCommand{
				{CID: lorawan.NewChannelReq, Payload: &lorawan.NewChannelReqPayload{ChIndex: 3, Freq: 867100000, MinDR: 0, MaxDR: 5}},
				linkADRReq(5, 3, 2, 0, 1, 2, 3),
				{CID: lorawan.DevStatusReq},
			}}
		case 1:
			return &macDownlink{port0: true, cmds: []lorawan.MACCommand{
				{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{Frequency: 869525000,
					DLSettings: lorawan.DLSettings{RX2DataRate: 3, RX1DROffset: 1}}},
				{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: 2}},
				{CID: lorawan.DutyCycleReq, Payload: &lorawan.DutyCycleReqPayload{MaxDCycle: 3}},
				linkADRReq(3, 0, 1, 0, 1, 9), // channel 9 is not defined: NACK, nothing applied
			}}
		case 3:
			return &macDownlink{} // a plain downlink ends the sticky answers
		}
		return nil
	}
	peer := newMACPeer(t, devs, script)
	s, err := NewField(Options{Target: peer.addr(), Config: Config{Speed: 6000, Gateways: 1},
		KeepaliveInterval: 50 * time.Millisecond, JoinTimeout: time.Second, Linger: 200 * time.Millisecond}, fc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Run(ctx))
	require.NoError(t, ctx.Err(), "run ended by the scenario, not the timeout")

	peer.mu.Lock()
	defer peer.mu.Unlock()
	ups := peer.ups[devs[0].DevEUI]
	require.GreaterOrEqual(t, len(ups), 6)
	for i, u := range ups {
		require.Equal(t, uint32(i), u.fcnt, "no uplink lost on a fixed 8 dB link")
		assert.True(t, u.fctrl.ADR, "ADR bit")
		assert.False(t, u.fctrl.ADRACKReq)
	}
	first := *ups[0]
	assert.Equal(t, "SF12BW125", first.dataRate, "joins and starts at DR0")
	assert.InDelta(t, 8, first.snr, 0.05, "full power: the link's mean")
	assert.Empty(t, first.cmds)

	// FCnt 1: NewChannelAns, LinkADRAns and DevStatusAns; sent at DR5, 6 dB
	// less power (index 3), twice.
	a := answers(*ups[1])
	require.Len(t, a[lorawan.NewChannelAns], 1)
	assert.Equal(t, &lorawan.NewChannelAnsPayload{ChannelFrequencyOK: true, DataRateRangeOK: true}, a[lorawan.NewChannelAns][0])
	require.Len(t, a[lorawan.LinkADRAns], 1)
	assert.Equal(t, &lorawan.LinkADRAnsPayload{ChannelMaskACK: true, DataRateACK: true, PowerACK: true}, a[lorawan.LinkADRAns][0])
	require.Len(t, a[lorawan.DevStatusAns], 1)
	st, _ := s.DeviceState(devs[0].DevEUI)
	assert.Equal(t, &lorawan.DevStatusAnsPayload{Battery: st.Battery, Margin: 8}, a[lorawan.DevStatusAns][0])
	assert.Equal(t, batteryLevel(0.5), st.Battery)
	assert.Equal(t, "SF7BW125", ups[1].dataRate)
	assert.InDelta(t, 2, ups[1].snr, 0.05, "8 dB minus 3 power steps of 2 dB")
	assert.Equal(t, 2, ups[1].copies, "NbTrans 2")

	// FCnt 2: the FPort 0 commands; the LinkADRReq with an unknown channel
	// is refused as a whole.
	a = answers(*ups[2])
	assert.Len(t, a[lorawan.DutyCycleAns], 1)
	assert.Len(t, a[lorawan.RXTimingSetupAns], 1)
	require.Len(t, a[lorawan.RXParamSetupAns], 1)
	assert.Equal(t, &lorawan.RXParamSetupAnsPayload{ChannelACK: true, RX2DataRateACK: true, RX1DROffsetACK: true}, a[lorawan.RXParamSetupAns][0])
	require.Len(t, a[lorawan.LinkADRAns], 1)
	assert.Equal(t, &lorawan.LinkADRAnsPayload{ChannelMaskACK: false, DataRateACK: true, PowerACK: true}, a[lorawan.LinkADRAns][0])
	assert.Equal(t, "SF7BW125", ups[2].dataRate, "refused LinkADRReq changes nothing")

	// FCnt 3: no downlink came, so the sticky answers are repeated, the
	// others are not.
	a = answers(*ups[3])
	assert.Len(t, a[lorawan.RXParamSetupAns], 1)
	assert.Len(t, a[lorawan.RXTimingSetupAns], 1)
	assert.Empty(t, a[lorawan.LinkADRAns])
	assert.Empty(t, a[lorawan.DutyCycleAns])
	// FCnt 4: after a downlink, nothing is owed.
	assert.Empty(t, ups[4].cmds)

	// Every copy from FCnt 1 on went out on the four enabled channels,
	// the new one included.
	seen := map[float64]int{}
	for _, u := range ups[1:] {
		assert.Equal(t, 2, u.copies)
		for _, f := range u.freqs {
			seen[f]++
		}
	}
	assert.Len(t, seen, 4)
	assert.Positive(t, seen[867.1], "new channel used")
	for f := range seen {
		assert.Contains(t, []float64{868.1, 868.3, 868.5, 867.1}, f)
	}

	st, _ = s.DeviceState(devs[0].DevEUI)
	assert.Equal(t, 5, st.DR)
	assert.Equal(t, 3, st.TXPower)
	assert.Equal(t, 2, st.NbTrans)
	assert.Equal(t, []uint32{868100000, 868300000, 868500000, 867100000}, st.Channels)
	assert.Equal(t, 3, st.RX2DR)
	assert.Equal(t, 1, st.RX1DROffset)
	assert.Equal(t, 2, st.RXDelay)
	assert.Equal(t, uint8(3), st.MaxDCycle)
	assert.Equal(t, int8(8), st.Margin)
	assert.Equal(t, 8.0, st.MeanSNR)

	// The refusing device NACKs the mask, so nothing changes.
	ups = peer.ups[devs[1].DevEUI]
	require.GreaterOrEqual(t, len(ups), 3)
	a = answers(*ups[1])
	require.Len(t, a[lorawan.LinkADRAns], 1)
	assert.Equal(t, &lorawan.LinkADRAnsPayload{ChannelMaskACK: false, DataRateACK: true, PowerACK: true}, a[lorawan.LinkADRAns][0])
	for _, u := range ups {
		assert.Equal(t, "SF12BW125", u.dataRate)
		assert.InDelta(t, 8, u.snr, 0.05)
	}
	st1, _ := s.DeviceState(devs[1].DevEUI)
	assert.Equal(t, 0, st1.DR)
	assert.Equal(t, 0, st1.TXPower)
	assert.Len(t, st1.Channels, 3)

	// A device with ADR off says so in every uplink.
	ups = peer.ups[devs[2].DevEUI]
	require.NotEmpty(t, ups)
	for _, u := range ups {
		assert.False(t, u.fctrl.ADR)
	}

	_, err = FieldDevices(FieldConfig{Devices: 2, ADROff: []int{2}})
	assert.Error(t, err, "index beyond the field")
}

// TestFieldLinkFloors runs a 40-device field with links down to -12 dB and
// moves every device to SF7 at full power after its first uplink: at SF12
// the whole field is in reach, at SF7 what a device loses follows its mean
// SNR against the -7.5 dB floor.
func TestFieldLinkFloors(t *testing.T) {
	link := LinkModel{MinSNR: -12, MaxSNR: 10, FadingDB: 2}
	fc := FieldConfig{Interval: 10 * time.Minute, Duration: 4 * time.Hour, Link: &link}
	devs, err := FieldDevices(fc)
	require.NoError(t, err)
	require.Len(t, devs, 40)
	peer := newMACPeer(t, devs, func(_ int, up macUplink) *macDownlink {
		if up.fcnt == 0 {
			return &macDownlink{cmds: []lorawan.MACCommand{linkADRReq(5, 0, 1, 0, 1, 2)}}
		}
		return nil
	})
	s, err := NewField(Options{Target: peer.addr(), Config: Config{Speed: 6000, Gateways: 1},
		KeepaliveInterval: 50 * time.Millisecond, JoinTimeout: 2 * time.Second, Linger: 200 * time.Millisecond, Seed: 23}, fc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, s.Run(ctx))
	require.NoError(t, ctx.Err())

	peer.mu.Lock()
	defer peer.mu.Unlock()
	strong, weak := 0, 0
	for _, d := range devs {
		st, ok := s.DeviceState(d.DevEUI)
		require.True(t, ok)
		assert.GreaterOrEqual(t, st.MeanSNR, -12.0)
		assert.LessOrEqual(t, st.MeanSNR, 10.0)
		ups := peer.ups[d.DevEUI]
		require.NotEmpty(t, ups, "%s joined and sent at SF12", d.Name)
		assert.Equal(t, "SF12BW125", ups[0].dataRate)
		assert.Equal(t, 5, st.DR, "moved to SF7")
		sent := int(st.Uplinks) - 1 // after the first
		got := len(ups) - 1
		require.Positive(t, sent)
		switch {
		case st.MeanSNR >= 0: // 7.5 dB above the floor: almost four deviations
			assert.Equal(t, sent, got, "%s at %.1f dB loses nothing at SF7", d.Name, st.MeanSNR)
			strong++
		case st.MeanSNR < -10.5:
			assert.LessOrEqual(t, got, sent/4, "%s at %.1f dB is mostly lost at SF7", d.Name, st.MeanSNR)
			weak++
		}
	}
	assert.Positive(t, strong)
	assert.Positive(t, weak)
	stats := s.Stats()
	assert.Positive(t, stats.TransmissionsLost)
	assert.Equal(t, stats.Transmissions, stats.FramesSent, "NbTrans 1: one transmission per frame")
}
