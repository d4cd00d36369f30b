package sim

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/airtime"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// radioRx is one reception of an uplink at one gateway.
type radioRx struct {
	phy         []byte
	freqMHz     float64
	channel     uint8
	dataRate    string
	rssi        int16
	snr         float64
	virtualTime time.Time
}

// txSetting is how a device sends one frame.
type txSetting struct {
	dr, txPower, nbTrans int
	channel              int
	freqHz               uint32
}

// air connects devices and gateways: an uplink reaches every gateway that
// hears it through the link model, each with its own RSSI/SNR; a downlink
// sent by a gateway reaches the devices in its reach.
type air struct {
	nodes    []*node
	gateways []*gateway
	model    LinkModel
	means    [][]float64 // [node][gateway] mean SNR at full power
	window   time.Duration
	joinAge  time.Duration
	stats    *counters
	log      *slog.Logger

	// up draws each device's uplink fading; only that device's goroutine
	// transmits, so a device's fading sequence does not depend on how the
	// goroutines interleave. down draws the downlink fading.
	up []*rand.Rand

	mu   sync.Mutex
	down []*rand.Rand
}

func newAir(nodes []*node, model LinkModel, means [][]float64, window, joinAge time.Duration, st *counters, log *slog.Logger, seed uint64) *air {
	a := &air{nodes: nodes, model: model, means: means, window: window, joinAge: joinAge, stats: st, log: log}
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write(n.sd.dev.DevEUI[:])
		k := h.Sum64()
		a.up = append(a.up, rand.New(rand.NewPCG(seed, k)))
		a.down = append(a.down, rand.New(rand.NewPCG(seed, ^k)))
	}
	return a
}

// linkMeans draws every device's mean SNR towards every gateway.
func linkMeans(nodes []*node, nGateways int, m LinkModel, seed uint64) [][]float64 {
	out := make([][]float64, len(nodes))
	for i, n := range nodes {
		out[i] = make([]float64, nGateways)
		for g := range nGateways {
			switch {
			case n.sd.links == nil:
				out[i][g] = m.meanSNR(n.sd.dev.DevEUI, g, seed)
			case g < len(n.sd.links):
				out[i][g] = n.sd.links[g]
			default:
				out[i][g] = outOfReach
			}
		}
	}
	return out
}

// inReach says whether a gateway's downlinks can reach a device at all:
// its mean SNR is above the slowest rate's floor. Downlink fading is not
// modelled as loss, only in the margin the device reports.
func (a *air) inReach(ni, gi int) bool {
	return a.means[ni][gi] >= eu868ADR.RequiredSNR[0]
}

// transmit sends a frame NbTrans times, each with its own fading at each
// gateway, spaced by its time on air. It reports whether any gateway heard
// at least one copy.
func (a *air) transmit(ni int, phy []byte, tx txSetting, vt time.Time) bool {
	toa, err := uplinkAirtime(tx.dr, len(phy))
	if err != nil {
		a.log.Error("uplink time on air", "err", err)
	}
	heardAny := false
	for k := range max(1, tx.nbTrans) {
		at := vt.Add(time.Duration(k) * (toa + time.Second))
		heard := false
		for gi, g := range a.gateways {
			rx := a.model.receive(a.means[ni][gi], tx.dr, tx.txPower, a.up[ni].NormFloat64())
			if !rx.heard {
				continue
			}
			heard = true
			g.forward(radioRx{
				phy: phy, freqMHz: float64(tx.freqHz) / 1e6, channel: uint8(tx.channel % 8), dataRate: drName(tx.dr),
				rssi: int16(math.Round(rx.rssi)), snr: math.Round(rx.snr*10) / 10, virtualTime: at,
			})
		}
		a.nodes[ni].recordTx(toa, heard)
		a.stats.transmissions.Add(1)
		if !heard {
			a.stats.transmissionsLost.Add(1)
		}
		heardAny = heardAny || heard
	}
	a.stats.framesSent.Add(1)
	return heardAny
}

// uplinkAirtime is the time on air of an uplink at a LoRa data rate.
func uplinkAirtime(dr, phyLen int) (time.Duration, error) {
	b, err := eu868()
	if err != nil {
		return 0, fmt.Errorf("band: %w", err)
	}
	d, err := b.GetDataRate(dr)
	if err != nil {
		return 0, fmt.Errorf("data rate %d: %w", dr, err)
	}
	return airtime.Uplink(d.SpreadFactor, d.Bandwidth*1000, phyLen)
}

// downlinkSNR is the SNR a device sees on a downlink from gateway gi: the
// link's mean with a fresh fading draw.
func (a *air) downlinkSNR(ni, gi int) float64 {
	a.mu.Lock()
	f := a.down[ni].NormFloat64()
	a.mu.Unlock()
	return a.means[ni][gi] + f*a.model.FadingDB
}

// deliver hands a downlink sent through gateway g to the device it is for:
// a join-accept to the device whose pending join-request it answers (only
// that device's AppKey opens it), a data downlink to the device with that
// DevAddr whose session keys verify the MIC.
func (a *air) deliver(g *gateway, txpk semtechudp.TXPK) {
	now := time.Now()
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(txpk.Data); err != nil {
		a.stats.downlinksUnmatched.Add(1)
		a.log.Warn("undecodable downlink", "gateway_id", g.id.String(), "err", err)
		return
	}
	switch phy.MHDR.MType {
	case lorawan.JoinAccept:
		a.stats.joinAccepts.Add(1)
		for i, n := range a.nodes {
			if !a.inReach(i, g.idx) || n.sd.dev.Activation != device.OTAA {
				continue
			}
			if n.acceptJoin(txpk.Data, now, a.joinAge) {
				a.stats.joins.Add(1)
				st := n.state()
				a.log.Info("device joined", "dev_eui", n.sd.dev.DevEUI.String(), "dev_addr", st.DevAddr.String(), "gateway_id", g.id.String())
				return
			}
		}
	case lorawan.UnconfirmedDataDown, lorawan.ConfirmedDataDown:
		mac, ok := phy.MACPayload.(*lorawan.MACPayload)
		if !ok {
			break
		}
		for i, n := range a.nodes {
			if !a.inReach(i, g.idx) {
				continue
			}
			// Each candidate gets its own parse: checking mutates it.
			var p lorawan.PHYPayload
			if p.UnmarshalBinary(txpk.Data) != nil {
				return
			}
			res, ok := n.handleData(p, now, a.window, a.downlinkSNR(i, g.idx))
			if !ok {
				continue
			}
			a.stats.downlinks.Add(1)
			if res.ack {
				a.stats.acks.Add(1)
			}
			if res.fport > 0 {
				a.stats.appDownlinks.Add(1)
			}
			log := a.log.With("dev_eui", n.sd.dev.DevEUI.String(), "f_cnt", mac.FHDR.FCnt, "gateway_id", g.id.String())
			switch {
			case res.cmdError != nil:
				log.Warn("downlink command rejected", "f_port", res.fport, "err", res.cmdError)
			case res.macErr != nil:
				log.Warn("downlink MAC commands cut short", "err", res.macErr, "applied", res.macCommands)
			case res.fport > 0:
				log.Info("downlink received", "f_port", res.fport, "ack", res.ack, "size", len(res.payload))
			default:
				log.Debug("downlink received", "ack", res.ack)
			}
			return
		}
	}
	a.stats.downlinksUnmatched.Add(1)
	a.log.Debug("downlink for no simulated device", "gateway_id", g.id.String(), "m_type", phy.MHDR.MType.String())
}
