package mqtt

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/store"
)

type noLog struct{}

func (noLog) OpenCursor(string) (*store.Cursor, error) { return nil, errors.New("no log") }

// FuzzCommand feeds arbitrary command bodies and topic levels through the
// validation: it must never panic, and an ack must carry a payload the
// network queue took.
func FuzzCommand(f *testing.F) {
	for _, seed := range []string{
		`{"id":"c1","command":"close"}`, `{"id":"c2","f_port":20,"hex":"00","confirmed":true}`,
		`{"command":"close","args":{"x":1e308}}`, `{"f_port":-1,"hex":"0"}`, `{"id":`, `null`, `[]`, `{"hex":null,"f_port":null}`,
	} {
		f.Add("70b3d57ed0030004", []byte(seed))
	}
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0x03, 0x00, 0x04}, Activation: device.OTAA, AppKey: lorawan.AES128Key{1}, Profile: "generic/valve-actuator"},
	})
	require.NoError(f, err)
	ns, err := network.NewServer(network.Options{Devices: devs, StatePath: filepath.Join(f.TempDir(), "network.db"), DownlinkQueueSize: 1 << 20})
	require.NoError(f, err)
	f.Cleanup(func() { ns.Close() })
	s, err := New(Options{Config: testConfig("tcp://127.0.0.1:1"), Log: noLog{}, Devices: devs, Profiles: loadProfiles(f), Downlinks: ns})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, dev string, body []byte) {
		rep := s.command(dev, body)
		switch rep.Result {
		case "ack":
			require.NotEmpty(t, rep.QueueID)
			require.True(t, rep.FPort >= 1 && rep.FPort <= 223)
		case "nack":
			require.NotEmpty(t, rep.Reason)
		default:
			t.Fatalf("result %q", rep.Result)
		}
		_, err := json.Marshal(rep)
		require.NoError(t, err)
	})
}
