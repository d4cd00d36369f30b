package uplinkevent

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzEvent: any JSON must decode to an error or an Uplink that
// encodes back to the same event.
func FuzzEvent(f *testing.F) {
	f.Add([]byte(`{"gateway":"gw1","dev_eui":"0102030405060708","f_cnt":1,"f_port":10,"data":"3q0=","time":"2026-01-12T18:00:00Z","rx_info":[{"gateway_id":"0000000000000001","rssi":-80,"snr":7.5,"received_at":"2026-01-12T18:00:00Z"}]}`))
	f.Add([]byte(`{"dev_eui":"zz"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		up, err := ev.Uplink()
		if err != nil {
			return
		}
		back := New(up, ev.Gateway, true)
		require.Equal(t, up.DevEUI.String(), back.DevEUI)
		require.Equal(t, len(ev.RxInfo), len(back.RxInfo))
	})
}
