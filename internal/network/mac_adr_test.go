package network

import (
	"math/rand/v2"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
)

// adrUp sends the next uplink at data rate dr with the ADR bit as given,
// an SNR around snr (seeded fading) and the answers in FOpts; it returns
// the downlink's LinkADRReq, nil for none.
func (m *macEnv) adrUp(rng *rand.Rand, adrBit bool, dr string, snr float64, answers ...lorawan.MACCommand) *lorawan.LinkADRReqPayload {
	m.t.Helper()
	m.fcnt++
	f := abpFrame(m.d, m.fcnt, []byte{1})
	f.adr = adrBit
	for i := range answers {
		f.fopts = append(f.fopts, &answers[i])
	}
	r := rx(gw1, snr+rng.NormFloat64(), 1_000_000)
	r.DataRate = dr
	before := len(m.tx.all())
	m.deliver(f.bytes(m.t), r)
	dls := m.tx.all()
	if len(dls) == before {
		return nil
	}
	cmds, _ := downMAC(m.t.(*testing.T), dls[before], m.d)
	for _, c := range cmds {
		if c.CID == lorawan.LinkADRReq {
			return c.Payload.(*lorawan.LinkADRReqPayload)
		}
	}
	return nil
}

// firstADRReq sends SF12 uplinks with a strong link until ADR asks for a
// faster setting.
func firstADRReq(t *testing.T, m *macEnv, rng *rand.Rand) *lorawan.LinkADRReqPayload {
	t.Helper()
	for range 60 {
		if req := m.adrUp(rng, true, "SF12BW125", 5); req != nil {
			return req
		}
	}
	t.Fatal("no LinkADRReq after 60 uplinks at SF12 with 5 dB SNR")
	return nil
}

func adrAns(ch, dr, pw bool) lorawan.MACCommand {
	return lorawan.MACCommand{CID: lorawan.LinkADRAns, Payload: &lorawan.LinkADRAnsPayload{ChannelMaskACK: ch, DataRateACK: dr, PowerACK: pw}}
}

func TestADRAcceptedSettingIsCommittedAndSurvivesRestart(t *testing.T) {
	for _, alg := range adr.Names() {
		t.Run(alg, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m := newMACEnv(t, func(o *Options) { o.ADR.Algorithm = alg })
			req := firstADRReq(t, m, rng)
			assert.Greater(t, req.DataRate, uint8(0), "a 5 dB link is far above SF12's floor")
			var mask lorawan.ChMask
			mask[0], mask[1], mask[2] = true, true, true
			assert.Equal(t, mask, req.ChMask, "the band's default channels; the device has no others")
			assert.GreaterOrEqual(t, req.Redundancy.NbRep, uint8(1))
			assert.Equal(t, 0, m.info().MAC.DR, "nothing changes before the answer")

			dr, _ := m.s.drString(int(req.DataRate))
			assert.Nil(t, m.adrUp(rng, true, dr, 5, adrAns(true, true, true)))
			info := m.info().MAC
			assert.Equal(t, int(req.DataRate), info.DR)
			assert.Equal(t, dr, info.DataRate)
			assert.Equal(t, int(req.TXPower), info.TXPowerIndex)
			assert.Equal(t, 16-2*float64(req.TXPower), info.TXPowerDBm)
			assert.True(t, info.ADR)
			assert.True(t, info.HasADRMargin)
			assert.Equal(t, float64(1), testutil.ToFloat64(m.s.m.macAnswered.WithLabelValues("LinkADRReq", macACK)))

			m.restart()
			assert.Equal(t, info.DR, m.info().MAC.DR, "ADR state survives a restart")
			assert.Equal(t, info.TXPowerIndex, m.info().MAC.TXPowerIndex)
			m.adrUp(rng, true, dr, 5)
			assert.Equal(t, info.DR, m.info().MAC.DR)
		})
	}
}

func TestADRChannelMaskNACKKeepsOldState(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := newMACEnv(t, nil)
	req := firstADRReq(t, m, rng)
	// The device refuses the mask and so applies nothing.
	assert.Nil(t, m.adrUp(rng, true, "SF12BW125", 5, adrAns(false, true, true)))
	info := m.info().MAC
	assert.Equal(t, 0, info.DR)
	assert.Equal(t, 0, info.TXPowerIndex)
	assert.Equal(t, float64(1), testutil.ToFloat64(m.s.m.macAnswered.WithLabelValues("LinkADRReq", "nack_ch_mask")))
	for i := range 60 {
		if again := m.adrUp(rng, true, "SF12BW125", 5); again != nil {
			assert.GreaterOrEqual(t, i, adr.HistoryLen-1, "no request right after a refusal")
			assert.NotEqual(t, *req, *again, "the refused request is not sent again")
		}
	}
	assert.Equal(t, 0, m.info().MAC.DR)
}

func TestADROnlyWithADRBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := newMACEnv(t, nil)
	for range 60 {
		require.Nil(t, m.adrUp(rng, false, "SF12BW125", 5), "the device did not ask for ADR")
	}
	assert.False(t, m.info().MAC.ADR)
	assert.Equal(t, 0, m.info().MAC.DR, "the rate it sends with")
}

type adrPolicyFunc func(device.Device, adr.Limits) (bool, adr.Limits)

func (f adrPolicyFunc) ADRLimits(d device.Device, l adr.Limits) (bool, adr.Limits) { return f(d, l) }

func TestADRPolicyBoundsAndSwitch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := newMACEnv(t, func(o *Options) {
		o.ADRPolicy = adrPolicyFunc(func(_ device.Device, l adr.Limits) (bool, adr.Limits) {
			l.MaxDR = 2
			return true, l
		})
	})
	req := firstADRReq(t, m, rng)
	assert.Equal(t, uint8(2), req.DataRate, "the profile's max DR caps a 5 dB link")

	off := newMACEnv(t, func(o *Options) {
		o.ADRPolicy = adrPolicyFunc(func(_ device.Device, l adr.Limits) (bool, adr.Limits) { return false, l })
	})
	for range 60 {
		require.Nil(t, off.adrUp(rng, true, "SF12BW125", 5), "adr: off in the profile")
	}
	assert.False(t, off.info().MAC.ADR)
}
