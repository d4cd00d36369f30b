package sim

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// inBlock says whether addr lies in a "prefix/bits" block.
func inBlock(t *testing.T, addr lorawan.DevAddr, block string) bool {
	t.Helper()
	p, b, ok := strings.Cut(block, "/")
	require.True(t, ok, block)
	raw, err := hex.DecodeString(p)
	require.NoError(t, err)
	bits, err := strconv.Atoi(b)
	require.NoError(t, err)
	mask := ^uint32(0) << (32 - bits)
	return binary.BigEndian.Uint32(addr[:])&mask == binary.BigEndian.Uint32(raw)&mask
}

// The county scenario homes every device at one of its instances, ABP
// DevAddrs in the home's block, and covers every case: heard by one, two
// or three gateways, and only by a gateway that is not the home.
func TestCountyScenarioHomes(t *testing.T) {
	inst := Instances("county")
	require.Len(t, inst, 3)
	assert.Nil(t, Instances("school-day"))
	assert.Nil(t, Homes("school-day"))
	blocks := map[string]string{}
	for _, in := range inst {
		blocks[in.Name] = in.DevAddrBlock
	}
	homes := Homes("county")
	sc, _ := LookupScenario("county")
	homed := map[string]int{}
	heardBy := map[int]int{}
	peerOnly := 0
	for _, sd := range sc.build(sc.Start) {
		home := homes[sd.dev.DevEUI]
		require.Contains(t, blocks, home, sd.dev.Name)
		homed[home]++
		if sd.dev.Activation == device.ABP {
			assert.True(t, inBlock(t, sd.dev.DevAddr, blocks[home]), "%s: %s in %s", sd.dev.Name, sd.dev.DevAddr, blocks[home])
		}
		require.Len(t, sd.links, len(inst))
		n, homeHears := 0, false
		for i, snr := range sd.links {
			if snr > outOfReach {
				n++
				homeHears = homeHears || inst[i].Name == home
			}
		}
		heardBy[n]++
		if !homeHears {
			peerOnly++
		}
	}
	assert.Len(t, homed, 3, "devices at every instance")
	assert.Positive(t, heardBy[1])
	assert.Positive(t, heardBy[2])
	assert.Positive(t, heardBy[3])
	assert.Positive(t, peerOnly, "some heard only by a peer's gateway")
}

// Each gateway of the county scenario talks to its own daemon and
// forwards only the devices in its reach.
func TestCountyGatewaysReachTheirTargets(t *testing.T) {
	sc, _ := LookupScenario("county")
	devs := sc.build(sc.Start)
	servers := make([]*gwmpServer, 3)
	targets := make([]string, 3)
	for i := range servers {
		servers[i] = listenGWMP(t)
		servers[i].start(func(lorawan.EUI64, semtechudp.RXPK) {})
		targets[i] = servers[i].addr()
	}
	s, err := New(Options{Targets: targets, Config: Config{Scenario: "county", Speed: 3600}, Duration: 20 * time.Minute,
		JoinTimeout: 200 * time.Millisecond, Linger: 100 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Run(ctx))

	for i, srv := range servers {
		srv.mu.Lock()
		require.Len(t, srv.pulls, 1, "server %d: one gateway", i)
		require.Contains(t, srv.pulls, GatewayEUI(i))
		heard := map[lorawan.EUI64]bool{}
		for _, rx := range srv.rxpks[GatewayEUI(i)] {
			var phy lorawan.PHYPayload
			require.NoError(t, phy.UnmarshalBinary(rx.Data))
			switch pl := phy.MACPayload.(type) {
			case *lorawan.JoinRequestPayload:
				heard[pl.DevEUI] = true
			case *lorawan.MACPayload:
				for _, sd := range devs {
					if sd.dev.Activation == device.ABP && sd.dev.DevAddr == pl.FHDR.DevAddr {
						heard[sd.dev.DevEUI] = true
					}
				}
			}
		}
		srv.mu.Unlock()
		for _, sd := range devs {
			assert.Equal(t, sd.links[i] > outOfReach, heard[sd.dev.DevEUI], "gateway %d, %s", i, sd.dev.Name)
		}
	}
	_, err = New(Options{Targets: targets[:2], Config: Config{Scenario: "county"}})
	assert.ErrorContains(t, err, "2 targets for 3 gateways")
}
