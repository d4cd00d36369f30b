package mqtt

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/uplink"
	"github.com/loraedge/loraedge/internal/uplinkevent"
)

// udpBridge is the minimal copy of cmd/loraedge's bridge: rxpk to
// network frames, downlinks to txpk, TX_ACKs back by token.
type udpBridge struct {
	udp *semtechudp.Server
	net *network.Server

	mu      sync.Mutex
	pending map[uint16]uint64
}

func (b *udpBridge) SendDownlink(_ context.Context, d network.Downlink) error {
	tx := semtechudp.TXPK{Imme: d.Immediately, Freq: float64(d.Frequency) / 1e6, Powe: uint8(d.Power), Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: d.DataRate}, CodR: "4/5", IPol: d.InvertPolarity, Size: uint16(len(d.PHYPayload)), Data: d.PHYPayload}
	if !d.Immediately {
		tmst := d.Tmst
		tx.Tmst = &tmst
	}
	token, err := b.udp.Send(d.GatewayID, tx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pending[token] = d.ID
	b.mu.Unlock()
	return nil
}

func (b *udpBridge) onTxAck(ev semtechudp.TxAckEvent) {
	b.mu.Lock()
	id, ok := b.pending[ev.Token]
	delete(b.pending, ev.Token)
	b.mu.Unlock()
	if ok {
		b.net.HandleTxAck(id, ev.Err)
	}
}

func (b *udpBridge) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f, ok := <-b.udp.Frames():
			if !ok {
				return
			}
			b.net.HandleFrame(ctx, network.Frame{PHYPayload: f.RXPK.Data, RxInfo: f.RxInfo()})
		}
	}
}

// TestCommandReachesSimulatedValve: a "close" command published to the
// broker is queued in the real network layer, sent in the valve's RX1
// window after its next uplink through the GWMP server, and the simulated
// valve closes. The valve's uplinks come back out as uplink events.
func TestCommandReachesSimulatedValve(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })

	var valve device.Device
	for _, d := range sim.Devices("building-meters") {
		if d.Profile == sim.ProfileValve {
			valve = d
		}
	}
	require.NotZero(t, valve.DevEUI)
	devs, err := device.NewRegistry(sim.Devices("building-meters"))
	require.NoError(t, err)

	br := &udpBridge{pending: map[uint16]uint64{}}
	udp, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"}, OnTxAck: br.onTxAck,
		TrustGPSTime: true})
	require.NoError(t, err)
	require.NoError(t, udp.Listen())

	sub := newSubscriber(t, broker.URL(), "sub-e2e", "loraedge/gw1/device/"+valve.DevEUI.String()+"/#")
	var sink *Sink
	ns, err := network.NewServer(network.Options{
		Devices: devs, StatePath: filepath.Join(t.TempDir(), "network.db"), Sender: br,
		Handler: uplink.HandlerFunc(func(ctx context.Context, up uplink.Uplink) error { return sink.HandleUplink(ctx, up) }),
		Logger:  testLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	br.udp, br.net = udp, ns
	sink, err = New(Options{Config: testConfig(broker.URL()), Log: st, Devices: devs, Profiles: loadProfiles(t), Downlinks: ns, Logger: testLogger()})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, run := range []func(){
		func() { _ = udp.Run(ctx) },
		func() { br.run(ctx) },
		func() { _ = ns.Run(ctx) },
		func() { _ = sink.Run(ctx) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	simu, err := sim.New(sim.Options{Target: udp.LocalAddr().String(), Config: sim.Config{Scenario: "building-meters", Speed: 600, Gateways: 1},
		KeepaliveInterval: 100 * time.Millisecond, StatInterval: time.Second, JoinTimeout: 2 * time.Second})
	require.NoError(t, err)
	wg.Add(1)
	go func() { defer wg.Done(); _ = simu.Run(ctx) }()

	joined := func() bool { s, _ := simu.DeviceState(valve.DevEUI); return s.Joined }
	require.Eventually(t, joined, 30*time.Second, 50*time.Millisecond, "valve joined")
	state, _ := simu.DeviceState(valve.DevEUI)
	require.NotNil(t, state.ValveOpen)
	require.True(t, *state.ValveOpen)

	publish(t, broker.URL(), "loraedge/gw1/device/"+valve.DevEUI.String()+"/command/down", []byte(`{"id":"frost-1","command":"close"}`))
	require.Eventually(t, func() bool {
		return len(sub.payloads("loraedge/gw1/device/"+valve.DevEUI.String()+"/command/ack")) == 1
	},
		5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		s, _ := simu.DeviceState(valve.DevEUI)
		return s.ValveOpen != nil && !*s.ValveOpen
	}, 20*time.Second, 20*time.Millisecond, "valve closed by the command")

	// The uplink that opened the RX window is out as a live event too.
	uplinks := "loraedge/gw1/device/" + valve.DevEUI.String() + "/uplink"
	require.Eventually(t, func() bool { return len(sub.payloads(uplinks)) > 0 }, 5*time.Second, 10*time.Millisecond, "uplink events")
	ups := sub.payloads(uplinks)
	var ev uplinkevent.Event
	require.NoError(t, json.Unmarshal(ups[0], &ev))
	assert.Equal(t, uint8(20), ev.FPort)
	require.NotEmpty(t, ev.RxInfo)
	assert.Equal(t, sim.GatewayEUI(0).String(), ev.RxInfo[0].GatewayID)
	assert.NotZero(t, ev.RxInfo[0].RSSI)
	var zero lorawan.DevAddr
	assert.NotEqual(t, zero.String(), ev.DevAddr)
}
