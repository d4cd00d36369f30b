package sim

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// TestInteropWithSemtechUDPServer runs the simulator against the daemon's
// own GWMP server: its parser must accept every datagram, it must learn
// both gateways, and a downlink it sends must come back as a TX_ACK and
// reach the device.
func TestInteropWithSemtechUDPServer(t *testing.T) {
	var txAcks, txErrs atomic.Int64
	srv, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"}, OnTxAck: func(ev semtechudp.TxAckEvent) {
		if ev.Err != nil {
			txErrs.Add(1)
		} else {
			txAcks.Add(1)
		}
	}})
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	var abp device.Device
	for _, d := range Devices("school-day") {
		if d.Activation == device.ABP {
			abp = d
		}
	}
	require.NotZero(t, abp.DevAddr)

	start := time.Date(2026, 1, 13, 8, 0, 0, 0, cet)
	sim, err := New(Options{Target: srv.LocalAddr().String(), Config: Config{Scenario: "school-day", Speed: 3600, Gateways: 2},
		Start: start, Duration: 2 * time.Hour, KeepaliveInterval: 100 * time.Millisecond,
		StatInterval: 200 * time.Millisecond, JoinTimeout: 500 * time.Millisecond})
	require.NoError(t, err)

	var frames []semtechudp.Frame
	var mu sync.Mutex
	sent := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-srv.Frames():
				mu.Lock()
				frames = append(frames, f)
				var phy lorawan.PHYPayload
				if phy.UnmarshalBinary(f.RXPK.Data) == nil && phy.MHDR.MType == lorawan.UnconfirmedDataUp &&
					phy.MACPayload.(*lorawan.MACPayload).FHDR.DevAddr == abp.DevAddr && sent == 0 {
					down := serverDownlink(t, abp.DevAddr, abp.NwkSKey, abp.AppSKey, 0, false, false, 0, nil)
					tmst := f.RXPK.Tmst + 1_000_000
					_, err := srv.Send(f.GatewayID, semtechudp.TXPK{Tmst: &tmst, Freq: f.RXPK.Freq, Modu: "LORA",
						DatR: f.RXPK.DatR, CodR: "4/5", IPol: true, Size: uint16(len(down)), Data: down})
					if err == nil {
						sent++
					}
				}
				mu.Unlock()
			}
		}
	}()

	require.NoError(t, sim.Run(ctx))
	require.NoError(t, ctx.Err())

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, frames)
	for _, f := range frames {
		require.NotNil(t, f.RXPK.Time)
		vt := time.Time(*f.RXPK.Time)
		assert.False(t, vt.Before(start) || vt.After(start.Add(2*time.Hour)), "virtual rxpk.time %s", vt)
	}
	gws := srv.Gateways()
	require.Len(t, gws, 2)
	for _, g := range gws {
		assert.False(t, g.LastPullData.IsZero(), "PULL_DATA from %s", g.ID)
		assert.NotNil(t, g.Stat, "stat from %s", g.ID)
		assert.Positive(t, g.RXOK)
	}
	assert.Equal(t, 1, sent)
	assert.Eventually(t, func() bool { return txAcks.Load() == 1 }, time.Second, 10*time.Millisecond)
	assert.Zero(t, txErrs.Load())
	st := sim.Stats()
	assert.Equal(t, uint64(1), st.DownlinksReceived, "downlink reached the ABP device")
	assert.Zero(t, st.Malformed)
	assert.Greater(t, st.JoinRequests, uint64(2*2), "both OTAA devices retry the join without a network server")
	assert.Zero(t, st.JoinsDone)
}
