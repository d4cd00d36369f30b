package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/sim"
)

// fieldCSV writes devs as an import file with their keys; bad replaces
// the line of device i (line i+2).
func fieldCSV(devs []device.Device, bad map[int]string) string {
	var b strings.Builder
	b.WriteString("dev_eui,name,activation,mac_version,profile,join_eui,app_key\n")
	for i, d := range devs {
		if l, ok := bad[i]; ok {
			b.WriteString(l + "\n")
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s\n", d.DevEUI, d.Name, d.Activation, d.MACVersion, d.Profile, d.JoinEUI, d.AppKey)
	}
	return b.String()
}

// `loraedge devices import` with a CSV of 500 devices and 3 bad lines is
// refused whole, naming the 3 lines; the fixed file imports, and the 500
// devices join over real UDP and their uplinks are stored. The export
// lists them without keys.
func TestImport500DevicesJoinAndStore(t *testing.T) {
	if testing.Short() {
		t.Skip("500 devices join over UDP")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte("network:\n  dedup_window: 30ms\n  duty_cycle: \"off\"\n"), 0o600))
	d := startDaemon(t, file, dir)
	defer d.stop()

	fc := sim.FieldConfig{Devices: 500, Interval: 10 * time.Minute, Duration: 40 * time.Minute}
	devs, err := sim.FieldDevices(fc)
	require.NoError(t, err)
	d3 := devs[3]
	badFile := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(badFile, []byte(fieldCSV(devs, map[int]string{
		3:   fmt.Sprintf("%s,%s,otaa,1.0.3,elsys/ers-co2,%s,%s", d3.DevEUI, d3.Name, d3.JoinEUI, d3.AppKey.String()[:31]),
		250: fmt.Sprintf("%s,x,otaa,1.0.3,elsys/ers-c02,%s,%s", devs[250].DevEUI, devs[250].JoinEUI, devs[250].AppKey),
		499: fmt.Sprintf("%s,x,otaa,1.0.3,elsys/ers-co2,%s,%s", devs[0].DevEUI, devs[0].JoinEUI, devs[0].AppKey),
	})), 0o600))
	env := []string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + d.token}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append(args, "--url", "http://"+d.http), env, &out, io.Discard)
		return out.String(), err
	}
	out, err := cli("devices", "import", badFile)
	require.ErrorContains(t, err, "3 problems; nothing was imported")
	assert.Equal(t, badFile+":5: app_key: expected 32 hex digits, got 31\n"+
		badFile+`:252: profile: unknown profile "elsys/ers-c02" (ids are vendor/model; closest: elsys/ers-co2, elsys/ers-voc, elsys/ems)`+"\n"+
		badFile+":501: dev_eui: "+devs[0].DevEUI.String()+" is already on line 2\n", out)
	list, err := cli("devices", "export")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(list, "\n"), "nothing imported: the header only")

	goodFile := filepath.Join(dir, "good.csv")
	require.NoError(t, os.WriteFile(goodFile, []byte(fieldCSV(devs, nil)), 0o600))
	out, err = cli("devices", "import", "--dry-run", goodFile)
	require.NoError(t, err)
	assert.Contains(t, out, "500 devices, no problems (dry run: nothing imported)")
	out, err = cli("devices", "import", goodFile)
	require.NoError(t, err)
	assert.Contains(t, out, "500 devices imported")
	list, err = cli("devices", "export")
	require.NoError(t, err)
	assert.Equal(t, 501, strings.Count(list, "\n"))
	assert.NotContains(t, list, devs[7].AppKey.String(), "keys are write-only")
	assert.Contains(t, list, devs[7].DevEUI.String()+",Field device 8,otaa,,1.0.3,elsys/ers-co2,,,"+devs[7].JoinEUI.String()+",,")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, done := startField(t, ctx, d.udpAddr, fc, 60)
	require.NoError(t, <-done)
	joined, sent := 0, 0
	for _, st := range s.DeviceStates() {
		if st.Joined {
			joined++
		}
		if st.Uplinks > 0 {
			sent++
		}
	}
	assert.Equal(t, 500, joined, "every imported device joined")
	assert.Equal(t, 500, sent)
	assert.EqualValues(t, 500, mustMetric(t, d, `loraedge_network_joins_total{result="ok"}`))
	stored := mustMetric(t, d, `loraedge_ingest_uplinks_total{result="stored"}`)
	assert.GreaterOrEqual(t, stored, 500.0, "every device's uplinks stored")
	t.Logf("500 devices joined, %v uplinks stored", stored)
}
