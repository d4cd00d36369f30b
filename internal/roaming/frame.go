package roaming

import (
	"time"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Frame is a frame heard here for a device homed at a peer, with every
// local reception, best SNR first.
type Frame struct {
	PHYPayload []byte
	RxInfo     []uplink.RxInfo
	// First is when the first copy arrived here.
	First time.Time
	Join  bool
}
