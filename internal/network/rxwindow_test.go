package network

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// Downlinks use the configured power in RX1 and RX2 (shown on a
// join-accept; data downlinks share the window computation), capped by
// the band's limit on each frequency.
func TestDownlinkTXPowerCappedByBand(t *testing.T) {
	tests := []struct {
		name     string
		power    int
		rx1, rx2 int
	}{
		{"band limit", 0, 14, 27},
		{"below both limits", 10, 10, 10},
		{"above the rx1 limit", 20, 14, 20},
		{"above both limits", 27, 14, 27},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := otaaDevice(byte(i+1), "1.0.3")
			e := newEnv(t, []device.Device{d}, func(o *Options) { o.DownlinkTXPower = tt.power })
			e.tx.fail = func(d Downlink) error {
				if d.Frequency != 869525000 {
					return errors.New("TOO_LATE")
				}
				return nil
			}
			e.deliver(joinRequest(t, d, 1), rx(gw1, 3, 1_000))
			dls := e.tx.all()
			require.Len(t, dls, 2)
			assert.Equal(t, tt.rx1, dls[0].Power, "rx1 at %d Hz", dls[0].Frequency)
			assert.Equal(t, tt.rx2, dls[1].Power, "rx2 at %d Hz", dls[1].Frequency)
		})
	}
}
