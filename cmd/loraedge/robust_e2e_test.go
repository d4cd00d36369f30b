package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// Issue 19: five uplinks of one device within one second from a gateway
// whose GPS clock is stuck are five points. The first keeps its GPS time;
// the others disagree with tmst, so their reception time dates them, and
// the store keeps the millisecond of those that share a second.
func TestStuckGPSClockFiveUplinksInOneSecond(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	nwk := lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app := lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	addr := lorawan.DevAddr{0x26, 0x01, 0x19, 0x01}
	const devEUI = "70b3d57ed0000031"
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "%s", activation: abp, profile: generic/road-station, dev_addr: "%s", nwk_s_key: "%s", app_s_key: "%s"}
`, devEUI, addr, nwk, app)), 0o600))
	d := startDaemon(t, file, dir)
	c, err := net.Dial("udp", d.udpAddr)
	require.NoError(t, err)
	defer c.Close()
	mac := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 9}

	stuck := semtechudp.CompactTime(time.Now().UTC().Add(-2 * time.Second))
	for i := range 5 {
		r := sim.RoadStationReading{SurfaceTemp: 1 + float64(i)/10, AirTemp: 2 + float64(i)/10, RH: 80 + float64(i),
			SurfaceState: 1, WaterFilmMM: 0.1 * float64(i+1), BatteryVolts: 3.6 - float64(i)/100}
		phy := abpFrame(t, addr, nwk, app, uint32(i+1), sim.EncodeRoadStation(r))
		// The concentrator heard them 250 ms apart; the GPS time stands still.
		rx := semtechudp.RXPK{Time: &stuck, Tmst: uint32(1_000_000 + i*250_000), Freq: 868.3, Chan: 1, Stat: 1, Modu: "LORA",
			DatR: semtechudp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", RSSI: -97, LSNR: 3.5, Size: uint16(len(phy)), Data: phy}
		b, err := (&semtechudp.PushDataPacket{ProtocolVersion: 2, RandomToken: uint16(i + 1), GatewayMAC: mac,
			Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{rx}}}).MarshalBinary()
		require.NoError(t, err)
		_, err = c.Write(b)
		require.NoError(t, err)
	}
	d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, 5)
	d.waitMetric(`loraedge_semtechudp_gateway_time_rejected_total{reason="tmst_drift"}`, 4)
	conflicts := mustMetric(t, d, `loraedge_store_points_collapsed_total{reason="conflict"}`)
	assert.Zero(t, conflicts, "no value replaced another")
	d.stop()

	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store")})
	require.NoError(t, err)
	defer st.Close()
	for _, q := range []measurement.Quantity{measurement.RoadSurfaceTemperature, measurement.AirTemperature, measurement.RelativeHumidity} {
		key := measurement.Measurement{Device: devEUI, Quantity: q}.SeriesKey()
		got, err := st.Range(context.Background(), []string{key}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 1, key)
		require.Len(t, got[0].Points, 5, "%s: every uplink is a point", key)
		assert.Equal(t, time.Time(stuck).Truncate(time.Second), got[0].Points[0].Time, "the first keeps the GPS time")
	}
}
