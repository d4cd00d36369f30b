package roaming

import (
	"encoding/binary"
	"time"

	"github.com/brocaar/lorawan"

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

// Target is what a frame's header says about its device: the DevAddr of
// a data uplink, or the JoinEUI and DevEUI of a join request.
type Target struct {
	Join            bool
	DevAddr         lorawan.DevAddr
	JoinEUI, DevEUI lorawan.EUI64
}

// ReadTarget reads just enough of an uplink PHYPayload to route it; false
// for anything else (too short, not an uplink).
func ReadTarget(phy []byte) (Target, bool) {
	if len(phy) < 5 {
		return Target{}, false
	}
	var t Target
	switch lorawan.MType(phy[0] >> 5) {
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		binary.BigEndian.PutUint32(t.DevAddr[:], binary.LittleEndian.Uint32(phy[1:5]))
		return t, true
	case lorawan.JoinRequest:
		if len(phy) < 23 {
			return Target{}, false
		}
		t.Join = true
		for i := range 8 { // little endian on air
			t.JoinEUI[i], t.DevEUI[i] = phy[8-i], phy[16-i]
		}
		return t, true
	}
	return Target{}, false
}

// Home returns the peer a frame's device is homed at.
func (t *Table) Home(tg Target) (*Peer, bool) {
	if tg.Join {
		return t.HomeOfDevice(tg.DevEUI, tg.JoinEUI)
	}
	return t.HomeOfDevAddr(tg.DevAddr)
}
