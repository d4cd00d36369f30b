package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/adr/adrsim"
	"github.com/loraedge/loraedge/internal/sim"
)

// writeFieldConfig writes a daemon configuration listing the field's OTAA
// devices. The dedup window is short because the simulator's single
// gateway sends each copy once, and the test plays a device's uplinks a
// fraction of a second apart. The downlink duty cycle is off: the test
// compresses days of the field into a minute of real time, so the real
// hour's budget of the one gateway would be spent in seconds, which a real
// field at one uplink per ten minutes never does.
func writeFieldConfig(t *testing.T, dir, algorithm string, devs []device.Device) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `network:
  dedup_window: 30ms
  duty_cycle: "off"
  adr: {algorithm: %s}
devices:
`, algorithm)
	for _, d := range devs {
		fmt.Fprintf(&b, "  - {dev_eui: \"%s\", name: \"%s\", activation: otaa, mac_version: \"%s\", profile: %s, join_eui: \"%s\", app_key: \"%s\"}\n",
			d.DevEUI, d.Name, d.MACVersion, d.Profile, d.JoinEUI, d.AppKey)
	}
	file := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
	return file
}

// startField runs the field against the daemon's UDP port through one
// simulated gateway until the field's virtual end; the returned channel
// gets Run's result.
func startField(t *testing.T, ctx context.Context, target string, fc sim.FieldConfig, speed float64) (*sim.Simulator, <-chan error) {
	t.Helper()
	s, err := sim.NewField(sim.Options{Target: target, Config: sim.Config{Speed: speed, Gateways: 1},
		KeepaliveInterval: 100 * time.Millisecond, JoinTimeout: time.Second, Linger: 200 * time.Millisecond, Seed: 23}, fc)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return s, done
}

// macJSON reads the API's MAC view of a device as JSON.
func (d *e2eDaemon) macJSON(eui lorawan.EUI64) ([]byte, error) {
	req, err := http.NewRequest("GET", "http://"+d.http+"/api/v1/devices/"+eui.String()+"/mac", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mac view of %s: %s", eui, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// macView reads the API's MAC view of a device.
func (d *e2eDaemon) macView(eui lorawan.EUI64) (httpapi.MACView, error) {
	var v httpapi.MACView
	b, err := d.macJSON(eui)
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(b, &v)
}

// fieldFigures sums up a field run over UDP as the issue measures it.
type fieldFigures struct {
	devices, atFastest, beyond, outOfReach int
	txSent, txLost                         uint64 // in the second half of the run
	airBefore, airAfter                    time.Duration
}

func (f fieldFigures) String() string {
	return fmt.Sprintf("at fastest %d/%d, beyond margin %d (out of reach %d), tx lost after convergence %.2f%% (%d/%d), uplink airtime per hour %.0f s at SF12, %.0f s after ADR",
		f.atFastest, f.devices, f.beyond, f.outOfReach, 100*float64(f.txLost)/float64(max(f.txSent, 1)), f.txLost, f.txSent,
		f.airBefore.Seconds(), f.airAfter.Seconds())
}

// fieldLate is the share of the field's time after which its airtime
// counts as after ADR: the last tenth, when the devices have settled.
const fieldLate = 0.9

// watchField follows a running field until it ends: each device's airtime
// per transmission while it is still at SF12, and the device states at the
// field's half time, from which the loss after convergence is counted, and
// at fieldLate.
// fc.Start must be set, as the field's times are read from it.
func watchField(t *testing.T, s *sim.Simulator, fc sim.FieldConfig, done <-chan error) (sf12 map[lorawan.EUI64]time.Duration, half, late []sim.DeviceState) {
	t.Helper()
	require.False(t, fc.Start.IsZero(), "the field's start")
	sf12 = map[lorawan.EUI64]time.Duration{}
	mid := fc.Start.Add(fc.Duration / 2)
	lateAt := fc.Start.Add(time.Duration(fieldLate * float64(fc.Duration)))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			require.NoError(t, err)
			require.NotNil(t, late, "the field ended before its last tenth was seen")
			return sf12, half, late
		case <-tick.C:
		}
		for _, ds := range s.DeviceStates() {
			if _, ok := sf12[ds.DevEUI]; !ok && ds.DR == 0 && ds.Transmissions > 0 {
				sf12[ds.DevEUI] = ds.Airtime / time.Duration(ds.Transmissions)
			}
		}
		c := s.Clock()
		if c == nil {
			continue
		}
		if now := c.Now(); half == nil && !now.Before(mid) {
			half = s.DeviceStates()
		} else if late == nil && !now.Before(lateAt) {
			late = s.DeviceStates()
		}
	}
}

// judgeField compares where the network left each device with the fastest
// rate its mean SNR allows with the default margin, as adrsim does.
func judgeField(t *testing.T, s *sim.Simulator, fc sim.FieldConfig, sf12 map[lorawan.EUI64]time.Duration, half, late []sim.DeviceState) fieldFigures {
	t.Helper()
	band := adr.EU868()
	limits := adr.DefaultLimits(band)
	end := s.DeviceStates()
	f := fieldFigures{devices: len(end)}
	for i, ds := range end {
		require.True(t, ds.Joined, "%s joined", ds.DevEUI)
		fastest := adrsim.FastestDR(ds.MeanSNR, band, limits)
		spare := ds.MeanSNR - float64(ds.TXPower)*band.TXPowerStepDB - band.RequiredSNR[ds.DR] - limits.Margin
		if ds.DR == fastest {
			f.atFastest++
		} else {
			t.Logf("%s mean %.2f dB: fastest DR%d, at DR%d power %d NbTrans %d, spare %.2f dB", ds.DevEUI, ds.MeanSNR, fastest, ds.DR, ds.TXPower, ds.NbTrans, spare)
		}
		switch {
		case spare >= 0:
		case ds.DR == 0 && ds.TXPower == 0:
			f.outOfReach++
		default:
			f.beyond++
		}
		f.txSent += ds.Transmissions - half[i].Transmissions
		f.txLost += ds.TransmissionsLost - half[i].TransmissionsLost
		f.airAfter += ds.Airtime - late[i].Airtime
		f.airBefore += sf12[ds.DevEUI] * time.Duration(time.Hour/fc.Interval)
	}
	f.airAfter = time.Duration(float64(f.airAfter) / ((1 - fieldLate) * fc.Duration.Hours()))
	return f
}

// runFieldE2E plays the field through the whole daemon and returns
// its figures with the daemon still running.
func runFieldE2E(t *testing.T, algorithm string, fc sim.FieldConfig, speed float64) (fieldFigures, *e2eDaemon, *sim.Simulator) {
	t.Helper()
	devs, err := sim.FieldDevices(fc)
	require.NoError(t, err)
	dir := t.TempDir()
	d := startDaemon(t, writeFieldConfig(t, dir, algorithm, devs), dir)
	s, done := startField(t, t.Context(), d.udpAddr, fc, speed)
	sf12, half, late := watchField(t, s, fc, done)
	return judgeField(t, s, fc, sf12, half, late), d, s
}

// The acceptance over real UDP: 40 OTAA devices with real crypto
// (mean SNR -5..+10 dB at full power, 2 dB fading per frame, frames below
// the data rate's floor lost) join the whole daemon at SF12 through the
// simulator's packet forwarder and obey its LinkADRReq. 300 uplinks each
// (50 field hours) later, at least 90 % sit at the fastest rate their mean
// SNR allows with the 10 dB margin, none beyond the margin, and under 5 %
// of the transmissions of the second half are lost. The max-SNR algorithm
// runs the same field and only prints its figures beside.
func TestADRFieldOverUDP(t *testing.T) {
	if testing.Short() {
		t.Skip("two fields of 12,000 uplinks over UDP")
	}
	// 10 virtual minutes are 150 ms of real time: a device's next uplink
	// comes after the dedup window and the downlink of the last one.
	const speed = 4000
	fc := sim.DefaultFieldConfig() // 40 devices, an uplink every 10 minutes
	fc.Duration = 300 * fc.Interval
	got, d, s := runFieldE2E(t, "loraedge", fc, speed)
	t.Logf("loraedge over UDP: %s", got)
	assert.GreaterOrEqual(t, got.atFastest, 36, "at least 90 %% at the fastest rate the link allows")
	assert.Zero(t, got.beyond, "none beyond its margin")
	assert.Less(t, float64(got.txLost)/float64(got.txSent), 0.05, "loss after convergence")
	assert.Greater(t, got.airBefore, 3*got.airAfter, "ADR cuts the uplink airtime several times")

	// The API's MAC view agrees with the device's radio.
	for _, ds := range s.DeviceStates() {
		v, err := d.macView(ds.DevEUI)
		require.NoError(t, err)
		require.NotNil(t, v.DataRate, ds.DevEUI)
		require.NotNil(t, v.TXPowerDBm, ds.DevEUI)
		require.NotNil(t, v.NbTrans, ds.DevEUI)
		assert.Equal(t, ds.DR, *v.DataRate, "%s: data rate", ds.DevEUI)
		assert.Equal(t, 16-2*ds.TXPower, *v.TXPowerDBm, "%s: EIRP of power index %d", ds.DevEUI, ds.TXPower)
		assert.Equal(t, ds.NbTrans, *v.NbTrans, ds.DevEUI)
		assert.NotContains(t, v.PendingCommands, "LinkADRReq", "%s: the last LinkADRReq is answered", ds.DevEUI)
	}
	d.stop()

	t.Run("maxsnr", func(t *testing.T) {
		got, d, _ := runFieldE2E(t, "maxsnr", fc, speed)
		defer d.stop()
		t.Logf("maxsnr over UDP:   %s", got)
		assert.Equal(t, 40, got.devices)
	})
}

// Over UDP: a device that NACKs every channel mask keeps the state it
// joined with (SF12, full power), and the MAC view shows it; a converged
// device's data rate and TX power survive a restart of the daemon on the
// same data directory, and its next uplinks do not send it back to SF12.
// The simulator keeps running through the restart, as a field would.
func TestADRRefusalAndRestartOverUDP(t *testing.T) {
	if testing.Short() {
		t.Skip("a field over UDP through a daemon restart")
	}
	// Strong links: every device reaches SF7 within a few uplinks. Device
	// 0 refuses channel masks. One uplink per device every 250 ms, so the
	// restart misses at most one uplink per device.
	link := sim.LinkModel{MinSNR: 6, MaxSNR: 10, FadingDB: 2}
	fc := sim.DefaultFieldConfig()
	fc.Devices, fc.Duration, fc.Link, fc.RefuseChMask = 4, 160*fc.Interval, &link, []int{0}
	devs, err := sim.FieldDevices(fc)
	require.NoError(t, err)
	dir := t.TempDir()
	file := writeFieldConfig(t, dir, "loraedge", devs)
	d := startDaemon(t, file, dir)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, done := startField(t, ctx, d.udpAddr, fc, float64(fc.Interval/(250*time.Millisecond)))
	refuser, steered := devs[0].DevEUI, devs[1].DevEUI

	var before httpapi.MACView
	var raw []byte
	require.Eventually(t, func() bool {
		ds, _ := s.DeviceState(steered)
		if ds.DR != 5 || ds.Uplinks < 30 {
			return false
		}
		if raw, err = d.macJSON(steered); err != nil || json.Unmarshal(raw, &before) != nil {
			return false
		}
		return before.DataRate != nil && *before.DataRate == 5 && len(before.PendingCommands) == 0
	}, 20*time.Second, 20*time.Millisecond, "the strong device is steered to SF7")
	// The JSON a client reads: the radio settings and an empty list of
	// pending commands, not a missing one.
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	assert.EqualValues(t, 5, fields["data_rate"], "%s", raw)
	assert.EqualValues(t, *before.TXPowerDBm, fields["tx_power_dbm"], "%s", raw)
	assert.EqualValues(t, 1, fields["nb_trans"], "%s", raw)
	assert.Equal(t, []any{}, fields["pending_commands"], "%s", raw)

	nacks, err := d.metric(`loraedge_network_mac_commands_answered_total{cid="LinkADRReq",result="nack_ch_mask"}`)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, nacks, 1.0, "the refusing device was asked and said no")
	rs, _ := s.DeviceState(refuser)
	assert.Equal(t, 0, rs.DR, "the refusing device stays at SF12")
	assert.Equal(t, 0, rs.TXPower)
	rv, err := d.macView(refuser)
	require.NoError(t, err)
	require.NotNil(t, rv.DataRate)
	assert.Equal(t, 0, *rv.DataRate, "the MAC view keeps the refusing device's data rate")
	assert.Equal(t, 16, *rv.TXPowerDBm, "and its full power")

	d.stop()
	d = startDaemonOn(t, file, dir, d.udpAddr)
	defer d.stop()
	after, err := d.macView(steered)
	require.NoError(t, err)
	require.NotNil(t, after.DataRate)
	assert.Equal(t, *before.DataRate, *after.DataRate, "data rate after the restart")
	assert.Equal(t, *before.TXPowerDBm, *after.TXPowerDBm, "TX power after the restart")
	assert.Equal(t, *before.NbTrans, *after.NbTrans, "NbTrans after the restart")

	// The next uplinks reach the restarted daemon and leave the device at SF7.
	require.Eventually(t, func() bool {
		v, err := d.macView(steered)
		return err == nil && v.FCntUp >= after.FCntUp+10
	}, 20*time.Second, 20*time.Millisecond, "uplinks after the restart")
	ds, _ := s.DeviceState(steered)
	assert.Equal(t, 5, ds.DR, "the device is not sent back to SF12")
	v, err := d.macView(steered)
	require.NoError(t, err)
	assert.Equal(t, 5, *v.DataRate)
	cancel()
	require.NoError(t, <-done)
}
