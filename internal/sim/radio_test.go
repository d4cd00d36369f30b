package sim

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withChannel(r *radio, idx int, freq uint32) {
	r.channels[idx] = channel{freqHz: freq, maxDR: maxDeviceDR, enabled: true}
}

func TestLinkADRReqAllOrNothing(t *testing.T) {
	mask := func(chs ...int) lorawan.ChMask {
		var m lorawan.ChMask
		for _, c := range chs {
			m[c] = true
		}
		return m
	}
	req := func(dr, power, cntl, nb uint8, m lorawan.ChMask) lorawan.LinkADRReqPayload {
		return lorawan.LinkADRReqPayload{DataRate: dr, TXPower: power, ChMask: m, Redundancy: lorawan.Redundancy{ChMaskCntl: cntl, NbRep: nb}}
	}
	tests := []struct {
		name             string
		refuse           bool
		block            []lorawan.LinkADRReqPayload
		mask, dr, power  bool
		wantDR, wantPow  int
		wantNb, channels int
	}{
		{"applied", false, []lorawan.LinkADRReqPayload{req(5, 2, 0, 3, mask(0, 1))}, true, true, true, 5, 2, 3, 2},
		{"DR6 is beyond the radio", false, []lorawan.LinkADRReqPayload{req(6, 2, 0, 1, mask(0, 1, 2))}, true, false, true, 0, 0, 1, 3},
		{"power index 8 is RFU", false, []lorawan.LinkADRReqPayload{req(5, 8, 0, 1, mask(0, 1, 2))}, true, true, false, 0, 0, 1, 3},
		{"unknown channel", false, []lorawan.LinkADRReqPayload{req(5, 1, 0, 1, mask(0, 4))}, false, true, true, 0, 0, 1, 3},
		{"no channel left", false, []lorawan.LinkADRReqPayload{req(5, 1, 0, 1, mask())}, false, true, true, 0, 0, 1, 3},
		{"ChMaskCntl 5 is RFU in EU868", false, []lorawan.LinkADRReqPayload{req(5, 1, 5, 1, mask(0))}, false, true, true, 0, 0, 1, 3},
		{"ChMaskCntl 6 turns every defined channel on", false, []lorawan.LinkADRReqPayload{req(4, 1, 6, 1, mask())}, true, true, true, 4, 1, 1, 4},
		{"0xF keeps DR and power, NbTrans 0 keeps NbTrans", false, []lorawan.LinkADRReqPayload{req(0x0f, 0x0f, 0, 0, mask(0, 1, 2, 3))}, true, true, true, 0, 0, 1, 4},
		{"refusing firmware", true, []lorawan.LinkADRReqPayload{req(5, 1, 0, 1, mask(0, 1, 2))}, false, true, true, 0, 0, 1, 3},
		{"block: masks in order, the last one's settings", false, []lorawan.LinkADRReqPayload{req(1, 1, 6, 1, mask()), req(3, 4, 0, 2, mask(1, 3))}, true, true, true, 3, 4, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRadio(0, true, tt.refuse, 100)
			withChannel(&r, 3, 867100000)
			r.channels[3].enabled = false
			var cmds []lorawan.MACCommand
			for _, p := range tt.block {
				cmds = append(cmds, lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &p})
			}
			r.handle(cmds)
			require.Len(t, r.answers, len(tt.block), "one LinkADRAns per LinkADRReq")
			for _, a := range r.answers {
				assert.Equal(t, &lorawan.LinkADRAnsPayload{ChannelMaskACK: tt.mask, DataRateACK: tt.dr, PowerACK: tt.power}, a.Payload)
			}
			assert.Equal(t, tt.wantDR, r.dr)
			assert.Equal(t, tt.wantPow, r.txPower)
			assert.Equal(t, tt.wantNb, r.nbTrans)
			assert.Len(t, r.enabledChannels(), tt.channels)
		})
	}
}

func TestNewChannelAndRXParamSetup(t *testing.T) {
	tests := []struct {
		name         string
		req          lorawan.NewChannelReqPayload
		freqOK, drOK bool
		channels     int
	}{
		{"new channel", lorawan.NewChannelReqPayload{ChIndex: 4, Freq: 867300000, MinDR: 0, MaxDR: 5}, true, true, 5},
		{"default channels are fixed", lorawan.NewChannelReqPayload{ChIndex: 1, Freq: 867300000, MaxDR: 5}, false, true, 4},
		{"outside the band", lorawan.NewChannelReqPayload{ChIndex: 4, Freq: 915000000, MaxDR: 5}, false, true, 4},
		{"min above max", lorawan.NewChannelReqPayload{ChIndex: 4, Freq: 867300000, MinDR: 4, MaxDR: 2}, true, false, 4},
		{"frequency 0 removes", lorawan.NewChannelReqPayload{ChIndex: 3}, true, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRadio(0, true, false, 100)
			withChannel(&r, 3, 867100000)
			r.handle([]lorawan.MACCommand{{CID: lorawan.NewChannelReq, Payload: &tt.req}})
			require.Len(t, r.answers, 1)
			assert.Equal(t, &lorawan.NewChannelAnsPayload{ChannelFrequencyOK: tt.freqOK, DataRateRangeOK: tt.drOK}, r.answers[0].Payload)
			assert.Len(t, r.enabledChannels(), tt.channels)
		})
	}

	r := newRadio(0, true, false, 100)
	r.handle([]lorawan.MACCommand{{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{
		Frequency: 915000000, DLSettings: lorawan.DLSettings{RX2DataRate: 3, RX1DROffset: 6}}}})
	require.Len(t, r.sticky, 1)
	assert.Equal(t, &lorawan.RXParamSetupAnsPayload{ChannelACK: false, RX2DataRateACK: true, RX1DROffsetACK: false}, r.sticky[0].Payload)
	assert.Equal(t, 0, r.rx2DR, "a NACK applies nothing")
	assert.Equal(t, uint32(defaultRX2Hz), r.rx2FreqHz)
}

func TestADRBackOff(t *testing.T) {
	r := newRadio(0, true, false, 100)
	r.dr, r.txPower = 5, 3
	r.channels[0].enabled = false
	var ackReqAt, fullPowerAt int
	drAt := map[int]int{}
	for i := range 400 {
		ctrl, _ := r.uplinkFCtrl()
		assert.True(t, ctrl.ADR)
		if ctrl.ADRACKReq && ackReqAt == 0 {
			ackReqAt = i
		}
		if r.txPower == 0 && fullPowerAt == 0 {
			fullPowerAt = i
		}
		if _, ok := drAt[r.dr]; !ok {
			drAt[r.dr] = i
		}
	}
	assert.Equal(t, adrAckLimit, ackReqAt, "ADRACKReq from the ADR_ACK_LIMIT-th uplink without a downlink")
	assert.Equal(t, adrAckLimit+adrAckDelay, fullPowerAt, "full power first")
	assert.Equal(t, adrAckLimit+2*adrAckDelay, drAt[4], "then one data rate slower per ADR_ACK_DELAY")
	assert.Equal(t, adrAckLimit+6*adrAckDelay, drAt[0])
	assert.True(t, r.channels[0].enabled, "default channels back at the slowest rate")

	r.downlinkReceived(4.4)
	ctrl, _ := r.uplinkFCtrl()
	assert.False(t, ctrl.ADRACKReq, "a downlink resets the counter")

	off := newRadio(0, false, false, 100)
	for range 200 {
		ctrl, _ := off.uplinkFCtrl()
		assert.False(t, ctrl.ADR)
		assert.False(t, ctrl.ADRACKReq)
	}
}

func TestAnswersFitFOptsAndMarginClamps(t *testing.T) {
	r := newRadio(0, true, false, 100)
	r.downlinkReceived(40)
	assert.Equal(t, int8(31), r.margin)
	r.downlinkReceived(-50)
	assert.Equal(t, int8(-32), r.margin)
	r.downlinkReceived(-3.6)
	var cmds []lorawan.MACCommand
	for range 6 {
		cmds = append(cmds, lorawan.MACCommand{CID: lorawan.DevStatusReq})
	}
	r.handle(cmds)
	_, fopts := r.uplinkFCtrl()
	assert.Len(t, fopts, 5, "five 3-byte DevStatusAns fill the 15 FOpts bytes")
	assert.Equal(t, &lorawan.DevStatusAnsPayload{Battery: 100, Margin: -4}, fopts[0].(*lorawan.MACCommand).Payload)
	_, fopts = r.uplinkFCtrl()
	assert.Len(t, fopts, 1, "the sixth follows in the next uplink")
	_, fopts = r.uplinkFCtrl()
	assert.Empty(t, fopts)
}

func TestLinkModel(t *testing.T) {
	m := FieldLinkModel()
	eui := lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	assert.Equal(t, m.meanSNR(eui, 0, 1), m.meanSNR(eui, 0, 1), "deterministic")
	assert.NotEqual(t, m.meanSNR(eui, 0, 1), m.meanSNR(eui, 1, 1), "per gateway")
	for i := range 200 {
		v := m.meanSNR(lorawan.EUI64{byte(i)}, 0, 7)
		assert.True(t, v >= m.MinSNR && v <= m.MaxSNR, "%g in range", v)
	}
	// 0 dB mean, no fading: SF7 (-7.5 dB floor) is heard at power index 3
	// (-6 dB), not at index 4 (-8 dB); SF12 still is.
	flat := LinkModel{}
	assert.True(t, flat.receive(0, 5, 3, 0).heard)
	assert.False(t, flat.receive(0, 5, 4, 0).heard)
	assert.True(t, flat.receive(0, 0, 7, 0).heard)
	assert.False(t, flat.receive(-21, 0, 0, 0).heard, "below the SF12 floor")
	// Fading scales with FadingDB.
	assert.InDelta(t, -4, LinkModel{FadingDB: 2}.receive(0, 0, 0, -2).snr, 1e-9)
	// RSSI rises with SNR and sits on the noise floor for weak frames.
	assert.Less(t, flat.receive(-10, 0, 0, 0).rssi, flat.receive(5, 0, 0, 0).rssi)
	assert.InDelta(t, noiseFloorDBm, flat.receive(-20, 0, 0, 0).rssi, 0.1)
	require.Error(t, LinkModel{MinSNR: 3, MaxSNR: 1}.Validate())
	require.Error(t, LinkModel{FadingDB: -1}.Validate())
	require.NoError(t, DefaultLinkModel().Validate())
}
