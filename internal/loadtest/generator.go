package loadtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/semtechudp"
)

// simDevice is one ABP road station of the load test.
type simDevice struct {
	EUI      lorawan.EUI64
	Addr     lorawan.DevAddr
	NwkSKey  lorawan.AES128Key
	AppSKey  lorawan.AES128Key
	nextFCnt uint32
}

// makeDevices derives n devices with distinct addresses and keys from
// their index, so a run is reproducible.
func makeDevices(n int) []simDevice {
	devs := make([]simDevice, n)
	for i := range devs {
		d := &devs[i]
		binary.BigEndian.PutUint64(d.EUI[:], 0x70b3d57e10000000+uint64(i))
		binary.BigEndian.PutUint32(d.Addr[:], 0x26000000+uint32(i))
		for j := range d.NwkSKey {
			d.NwkSKey[j] = byte(i*31 + j*7 + 1)
			d.AppSKey[j] = byte(i*17 + j*13 + 2)
		}
		binary.BigEndian.PutUint32(d.NwkSKey[12:], uint32(i))
		binary.BigEndian.PutUint32(d.AppSKey[12:], ^uint32(i))
	}
	return devs
}

// roadPayload is a plausible 12-byte road station reading (fPort 10) that
// varies with seq, so the store does not see one constant series.
func roadPayload(seq uint32) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], uint16(int16(-150+int(seq%300)))) // road surface -1.50..+1.49 degC
	binary.BigEndian.PutUint16(b[2:], uint16(int16(200+int(seq%97))))   // air 2.00.. degC
	binary.BigEndian.PutUint16(b[4:], uint16(8000+seq%1500))            // RH 80.00.. %
	b[6] = []byte{0, 1, 32, 64, 65, 66, 67}[seq%7]                      // TLS surface state
	binary.BigEndian.PutUint16(b[8:], uint16(seq%400))                  // water film um
	binary.BigEndian.PutUint16(b[10:], uint16(3600-seq%100))            // battery mV
	return b
}

// send is one datagram due at an offset from the start of a step.
type send struct {
	at time.Duration
	b  []byte
}

// stepPlan is everything one step sends, built before the step starts so
// that the generator's crypto and JSON do not limit the rate.
type stepPlan struct {
	Uplinks   int
	Datagrams int
	perGW     [][]send // by gateway, in time order
}

type uplinkSpec struct {
	dev  int
	fcnt uint32
	at   time.Duration
	gws  [2]int // second is -1 when only one gateway hears it
}

// generator plays uplinks of its devices through G virtual packet
// forwarders, each a UDP socket of its own.
type generator struct {
	devs     []simDevice
	gwEUI    []lorawan.EUI64
	conns    []*net.UDPConn
	dup      float64
	next     int // next device to send, round robin across steps
	rnd      *rand.Rand
	tokens   []uint16
	sendErrs atomic.Int64
}

func newGenerator(devs []simDevice, gateways int, dup float64, target *net.UDPAddr) (*generator, error) {
	g := &generator{devs: devs, dup: dup, rnd: rand.New(rand.NewPCG(1, 2)), tokens: make([]uint16, gateways)}
	for i := 0; i < gateways; i++ {
		c, err := net.DialUDP("udp", nil, target)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("gateway socket: %w", err)
		}
		// Big send buffers: a burst after a scheduling hiccup must not
		// fail with ENOBUFS in the generator.
		_ = c.SetWriteBuffer(4 << 20)
		g.conns = append(g.conns, c)
		var eui lorawan.EUI64
		binary.BigEndian.PutUint64(eui[:], 0xb827ebfffe000000+uint64(i))
		g.gwEUI = append(g.gwEUI, eui)
	}
	return g, nil
}

func (g *generator) close() {
	for _, c := range g.conns {
		c.Close()
	}
}

// pullData announces every gateway, as a packet forwarder does on start.
func (g *generator) pullData() error {
	for i, c := range g.conns {
		pd := semtechudp.PullDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: uint16(i), GatewayMAC: g.gwEUI[i]}
		b, err := pd.MarshalBinary()
		if err != nil {
			return err
		}
		if _, err := c.Write(b); err != nil {
			return fmt.Errorf("pull_data: %w", err)
		}
	}
	return nil
}

// plan builds the datagrams of rate uplinks/s for d: distinct devices in
// turn, each with its next FCnt; a share dup of them heard by a second
// gateway. The crypto runs on every core.
func (g *generator) plan(rate float64, d time.Duration) (*stepPlan, error) {
	n := int(rate * d.Seconds())
	specs := make([]uplinkSpec, n)
	nGW := len(g.gwEUI)
	counts := make([]int, nGW)
	for k := range specs {
		di := g.next % len(g.devs)
		g.next++
		dev := &g.devs[di]
		s := uplinkSpec{dev: di, fcnt: dev.nextFCnt, at: time.Duration(float64(k) / rate * float64(time.Second)), gws: [2]int{k % nGW, -1}}
		dev.nextFCnt++
		if nGW > 1 && g.rnd.Float64() < g.dup {
			s.gws[1] = (s.gws[0] + 1 + g.rnd.IntN(nGW-1)) % nGW
		}
		for _, gw := range s.gws {
			if gw >= 0 {
				counts[gw]++
			}
		}
		specs[k] = s
	}
	p := &stepPlan{Uplinks: n, perGW: make([][]send, nGW)}
	// Slots are reserved in time order so that workers can fill them in
	// parallel without locks.
	type slot struct{ gw, idx int }
	slots := make([][2]slot, n)
	for gw := range p.perGW {
		p.perGW[gw] = make([]send, 0, counts[gw])
	}
	for k, s := range specs {
		slots[k] = [2]slot{{-1, 0}, {-1, 0}}
		for j, gw := range s.gws {
			if gw < 0 {
				continue
			}
			slots[k][j] = slot{gw, len(p.perGW[gw])}
			p.perGW[gw] = append(p.perGW[gw], send{at: s.at})
			p.Datagrams++
		}
	}
	tokens := make([][]uint16, nGW) // PUSH_DATA tokens, also taken in order
	for gw := range tokens {
		tokens[gw] = make([]uint16, len(p.perGW[gw]))
		for i := range tokens[gw] {
			g.tokens[gw]++
			tokens[gw][i] = g.tokens[gw]
		}
	}

	workers := runtime.NumCPU()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := w; k < n; k += workers {
				s := specs[k]
				dev := &g.devs[s.dev]
				phy, err := abpUplink(dev, s.fcnt)
				if err != nil {
					errs[w] = err
					return
				}
				for j, gw := range s.gws {
					if gw < 0 {
						continue
					}
					sl := slots[k][j]
					dg, err := pushData(g.gwEUI[gw], tokens[gw][sl.idx], s.at, j, phy)
					if err != nil {
						errs[w] = err
						return
					}
					p.perGW[gw][sl.idx].b = dg
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// abpUplink is a real unconfirmed data uplink: FRMPayload encrypted with
// the AppSKey, MIC with the NwkSKey (LoRaWAN 1.0).
func abpUplink(d *simDevice, fcnt uint32) ([]byte, error) {
	return abpUplinkOf(d, fcnt, lorawan.UnconfirmedDataUp)
}

// abpUplinkOf builds the data uplink fcnt of d as mtype (confirmed or not).
func abpUplinkOf(d *simDevice, fcnt uint32, mtype lorawan.MType) ([]byte, error) {
	fport := uint8(10)
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR:       lorawan.FHDR{DevAddr: d.Addr, FCnt: fcnt},
			FPort:      &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: roadPayload(fcnt)}},
		},
	}
	if err := phy.EncryptFRMPayload(d.AppSKey); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, d.NwkSKey, d.NwkSKey); err != nil {
		return nil, fmt.Errorf("mic: %w", err)
	}
	return phy.MarshalBinary()
}

// pushData wraps phy in a GWMP v2 PUSH_DATA with one rxpk; the second
// gateway of a frame hears it weaker.
func pushData(gw lorawan.EUI64, token uint16, at time.Duration, nth int, phy []byte) ([]byte, error) {
	rssi, snr := int16(-85), 7.5
	if nth > 0 {
		rssi, snr = -109, -4.25
	}
	pd := semtechudp.PushDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: token, GatewayMAC: gw,
		Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{{
			Tmst: uint32(at / time.Microsecond), Freq: 868.1, Chan: 0, RFCh: 0, Stat: 1, Modu: "LORA",
			DatR: semtechudp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: rssi, LSNR: snr, Size: uint16(len(phy)), Data: phy,
		}}}}
	return pd.MarshalBinary()
}

// play sends the plan, each gateway from its own goroutine paced by a
// token bucket: tokens accrue at the gateway's share of the step's rate,
// and at most burst's worth of them are saved up. A generator held off
// the CPU (the daemon and other processes share the cores) therefore does
// not make up for it with one big burst that no real fleet of gateways
// sends; the step takes longer instead, and the rate actually sent is
// reported. It returns when every datagram is out or ctx ends, with the
// time that took.
func (g *generator) play(ctx context.Context, p *stepPlan, d, burst time.Duration) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for gw, sends := range p.perGW {
		if len(sends) == 0 {
			continue
		}
		wg.Add(1)
		go func(c *net.UDPConn, sends []send) {
			defer wg.Done()
			rate := float64(len(sends)) / d.Seconds() // datagrams per second
			// A few tokens at least, so that a timer firing late at a low rate
			// does not slow the gateway down.
			maxTokens := math.Max(4, rate*burst.Seconds())
			tokens, last := 1.0, time.Now()
			for i := 0; i < len(sends); {
				if ctx.Err() != nil {
					return
				}
				now := time.Now()
				tokens = math.Min(maxTokens, tokens+now.Sub(last).Seconds()*rate)
				last = now
				for ; tokens >= 1 && i < len(sends); i++ {
					if _, err := c.Write(sends[i].b); err != nil {
						g.sendErrs.Add(1)
					}
					tokens--
				}
				if i < len(sends) {
					time.Sleep(time.Duration((1 - tokens) / rate * float64(time.Second)))
				}
			}
		}(g.conns[gw], sends)
	}
	wg.Wait()
	return time.Since(start)
}
