package sim

import (
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
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

// link is the radio path between one device and one gateway.
type link struct {
	heard bool
	rssi  float64 // median dBm
}

// eu868Channels are the three default EU868 uplink channels.
var eu868Channels = []float64{868.1, 868.3, 868.5}

// air connects devices and gateways: an uplink reaches every gateway that
// hears the device, each with its own RSSI/SNR; a downlink sent by a
// gateway reaches the devices it hears.
type air struct {
	nodes    []*node
	gateways []*gateway
	links    [][]link // [node][gateway]
	window   time.Duration
	joinAge  time.Duration
	stats    *counters
	log      *slog.Logger

	mu  sync.Mutex
	rng *rand.Rand
	ch  []uint8 // next channel per node
}

func newAir(nodes []*node, nGateways int, window, joinAge time.Duration, st *counters, log *slog.Logger, seed uint64) *air {
	a := &air{nodes: nodes, window: window, joinAge: joinAge, stats: st, log: log,
		rng: rand.New(rand.NewPCG(seed, 0x5eed)), ch: make([]uint8, len(nodes))}
	a.links = make([][]link, len(nodes))
	for i, n := range nodes {
		a.links[i] = make([]link, nGateways)
		for g := range nGateways {
			a.links[i][g] = linkBudget(n.sd.dev.DevEUI, g)
		}
	}
	return a
}

// linkBudget gives a stable path loss per device and gateway. The first
// gateway hears every device (it is the one on the school roof / at the
// road maintenance depot); others hear a device when the signal is above
// the SF12 sensitivity floor.
func linkBudget(eui lorawan.EUI64, gw int) link {
	h := fnv.New32a()
	h.Write(eui[:])
	h.Write([]byte{byte(gw)})
	v := h.Sum32()
	rssi := -72 - float64(v%50) // -72 .. -121 dBm
	if gw == 0 {
		rssi = math.Max(rssi, -112)
	}
	return link{heard: gw == 0 || rssi > -118, rssi: rssi}
}

func (a *air) transmit(ni int, phy []byte, dataRate string, vt time.Time) {
	a.mu.Lock()
	c := a.ch[ni]
	a.ch[ni] = (c + 1) % uint8(len(eu868Channels))
	jitter := make([]float64, len(a.gateways))
	for i := range jitter {
		jitter[i] = a.rng.NormFloat64() * 2
	}
	a.mu.Unlock()
	for gi, g := range a.gateways {
		l := a.links[ni][gi]
		if !l.heard {
			continue
		}
		rssi := l.rssi + jitter[gi]
		snr := math.Max(-19, math.Min(11, (rssi+115)/3))
		g.forward(radioRx{
			phy: phy, freqMHz: eu868Channels[c], channel: c, dataRate: dataRate,
			rssi: int16(math.Round(rssi)), snr: math.Round(snr*10) / 10, virtualTime: vt,
		})
	}
	a.stats.framesSent.Add(1)
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
		for i, n := range a.nodes {
			if !a.links[i][g.idx].heard || n.sd.dev.Activation != device.OTAA {
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
			if !a.links[i][g.idx].heard {
				continue
			}
			// Each candidate gets its own parse: checking mutates it.
			var p lorawan.PHYPayload
			if p.UnmarshalBinary(txpk.Data) != nil {
				return
			}
			res, ok := n.handleData(p, now, a.window)
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
