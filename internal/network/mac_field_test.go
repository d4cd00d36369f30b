package network

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/adr/adrsim"
)

// fieldDevice is a test device with real crypto that obeys LinkADRReq and
// transmits over a fading link: a copy below its data rate's demodulation
// floor is lost on air.
type fieldDevice struct {
	d       device.Device
	mean    float64 // SNR at full power, dB
	set     adr.Setting
	fcnt    uint32
	answers []lorawan.MACCommand // kept until a downlink arrives
}

// fieldResult sums up a field run as adrsim does.
type fieldResult struct {
	atFastest, beyond, outOfReach int
	txSent, txLost                int
	final                         []adr.Setting
}

func (r fieldResult) String() string {
	return fmt.Sprintf("at fastest %d/40, beyond margin %d (out of reach %d), tx lost after convergence %.2f%% (%d/%d)",
		r.atFastest, r.beyond, r.outOfReach, 100*float64(r.txLost)/float64(max(r.txSent, 1)), r.txLost, r.txSent)
}

// runField sends frames uplinks of 40 devices (mean SNR -5..+10 dB at full
// power, 2 dB fading) through the server and lets each device apply what
// the network's LinkADRReq sets.
func runField(t *testing.T, algorithm string, frames int) fieldResult {
	rng := rand.New(rand.NewPCG(23, 40))
	var devs []device.Device
	var field []*fieldDevice
	for i := range 40 {
		d := abpDevice(byte(i + 1))
		d.DevAddr = lorawan.DevAddr{0x26, 0, 1, byte(i + 1)}
		devs = append(devs, d)
		field = append(field, &fieldDevice{d: d, mean: -5 + 15*rng.Float64(), set: adr.Setting{NbTrans: 1}})
	}
	e := newEnv(t, devs, func(o *Options) { o.ADR.Algorithm = algorithm })
	band := adr.EU868()
	var res fieldResult
	for n := range frames {
		for _, fd := range field {
			lost := fd.send(t, e, rng, band)
			if n >= frames/2 {
				res.txSent += fd.set.NbTrans
				res.txLost += lost
			}
		}
	}
	limits := adr.DefaultLimits(band)
	for _, fd := range field {
		info, ok := e.s.Session(fd.d.DevEUI)
		require.True(t, ok)
		require.Equal(t, fd.set.DR, info.MAC.DR, "network and device agree on the data rate")
		spare := fd.mean - float64(fd.set.TXPowerIndex)*band.TXPowerStepDB - band.RequiredSNR[fd.set.DR] - limits.Margin
		if fd.set.DR == adrsim.FastestDR(fd.mean, band, limits) {
			res.atFastest++
		} else {
			t.Logf("%s mean %.2f fastest %d final %+v spare %.2f", algorithm, fd.mean, adrsim.FastestDR(fd.mean, band, limits), fd.set, spare)
		}
		switch {
		case spare >= 0:
		case fd.set.DR == 0 && fd.set.TXPowerIndex == 0:
			res.outOfReach++
		default:
			res.beyond++
		}
		res.final = append(res.final, fd.set)
	}
	return res
}

// send transmits the device's next frame NbTrans times and applies the
// downlink's LinkADRReq; it returns how many copies were lost on air.
func (fd *fieldDevice) send(t *testing.T, e *env, rng *rand.Rand, band adr.Band) int {
	fd.fcnt++
	f := abpFrame(fd.d, fd.fcnt, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.adr = true
	for i := range fd.answers {
		f.fopts = append(f.fopts, &fd.answers[i])
	}
	phy := f.bytes(t)
	lost := 0
	before := len(e.tx.all())
	for range fd.set.NbTrans {
		snr := fd.mean - float64(fd.set.TXPowerIndex)*band.TXPowerStepDB + 2*rng.NormFloat64()
		if snr < band.RequiredSNR[fd.set.DR] {
			lost++
			continue
		}
		r := rx(gw1, snr, 1_000_000)
		r.DataRate = fmt.Sprintf("SF%dBW125", 12-fd.set.DR)
		e.deliver(phy, r)
	}
	dls := e.tx.all()
	if len(dls) == before {
		return lost
	}
	fd.answers = nil
	cmds, _ := downMAC(t, dls[len(dls)-1], fd.d)
	for _, c := range cmds {
		if p, ok := c.Payload.(*lorawan.LinkADRReqPayload); ok {
			fd.set = adr.Setting{DR: int(p.DataRate), TXPowerIndex: int(p.TXPower), NbTrans: max(int(p.Redundancy.NbRep), 1)}
			fd.answers = append(fd.answers, adrAns(true, true, true))
		}
	}
	return lost
}

// TestADRFieldConverges is the acceptance field through the real
// engine (frames, MICs, bbolt commits, LinkADRReq/Ans; no UDP socket): 40
// devices start at SF12 and send 450 frames each (75 hours at one frame
// per 10 minutes); at the end at least 90 % sit at the
// fastest rate their mean SNR allows with the margin, none beyond it, and
// under 5 % of the transmissions after convergence are lost. maxsnr's
// figures are printed beside.
func TestADRFieldConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("36,000 uplinks through the engine")
	}
	const frames = 450
	got := runField(t, "loraedge", frames)
	t.Logf("loraedge: %s", got)
	assert.GreaterOrEqual(t, got.atFastest, 36)
	assert.Zero(t, got.beyond)
	assert.Less(t, float64(got.txLost)/float64(got.txSent), 0.05)
	t.Logf("maxsnr:   %s", runField(t, "maxsnr", frames))
}
