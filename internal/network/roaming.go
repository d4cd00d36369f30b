package network

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/roaming"
)

// Roaming routes the frames of devices homed at another instance of the
// county network (internal/roaming). Such a frame is not processed here:
// its MIC and counters are the home's to check.
type Roaming interface {
	// ForeignDevAddr reports whether a data frame with this DevAddr
	// belongs to a device homed at a peer.
	ForeignDevAddr(addr lorawan.DevAddr) bool
	// ForeignJoin reports whether the device of a join request is homed at
	// a peer.
	ForeignJoin(joinEUI, devEUI lorawan.EUI64) bool
	// Forward takes such a frame with every local reception, best SNR
	// first, and names the home it goes to (frame log). It must not block.
	Forward(f roaming.Frame) (home string)
}

// Results a Frame's Done hears, beside the metrics' other values.
const (
	ResultOK             = resultOK
	ResultForwarded      = "forwarded"
	ResultMICInvalid     = resultMICInvalid
	ResultReplay         = resultReplay
	ResultRetransmission = resultRetransmission
	ResultUnknownDevAddr = resultUnknownDevAddr
	ResultUnknownDevice  = joinUnknownDevice
	ResultDevNonceReuse  = joinDevNonceReuse
	ResultTooOld         = resultTooOld
	ResultFCntGap        = resultFCntGap
	ResultDecodeError    = resultDecodeError
	ResultDropped        = resultDropped
	ResultStoreError     = resultStoreError
)

// defaultForwardWindow is how long the copies of a peer's frame are
// collected from this instance's gateways before one PRStartReq carries
// them all: they arrive within milliseconds of each other, and every
// millisecond here is taken from the home's dedup window.
const defaultForwardWindow = 20 * time.Millisecond

// window is the dedup window of a reception: short for a frame that goes
// to a peer, the configured one for everything processed here.
func (s *Server) window(f Frame) time.Duration {
	if s.opts.Roaming == nil || f.Remote {
		return s.opts.DedupWindow
	}
	if s.foreign(f.PHYPayload) {
		return s.opts.ForwardWindow
	}
	return s.opts.DedupWindow
}

// foreign reads just enough of a frame to tell whether its device is homed
// at a peer: the DevAddr of a data frame, the EUIs of a join request.
func (s *Server) foreign(phy []byte) bool {
	tg, ok := roaming.ReadTarget(phy)
	switch {
	case !ok:
		return false
	case tg.Join:
		return s.opts.Roaming.ForeignJoin(tg.JoinEUI, tg.DevEUI)
	default:
		return s.opts.Roaming.ForeignDevAddr(tg.DevAddr)
	}
}

// forwardForeign hands a frame of a peer's device to Roaming. A peer's
// frame that came from a peer is refused, never forwarded again nor
// processed: the tables disagree, and the device is not homed here.
func (s *Server) forwardForeign(e *dedupEntry) (outcome, bool) {
	if s.opts.Roaming == nil || !s.foreign(e.phy) {
		return outcome{}, false
	}
	join := lorawan.MType(e.phy[0]>>5) == lorawan.JoinRequest
	if e.remote {
		if join {
			return outcome{join: true, result: joinUnknownDevice}, true
		}
		return outcome{result: resultUnknownDevAddr}, true
	}
	home := s.opts.Roaming.Forward(roaming.Frame{PHYPayload: e.phy, RxInfo: e.rx, First: e.first, Join: join})
	return outcome{join: join, result: ResultForwarded, home: home}, true
}

// allocBlockAddr draws a DevAddr from this instance's blocks, so that the
// address names its home in the county network.
func (s *Server) allocBlockAddr(blocks []roaming.Block) lorawan.DevAddr {
	var a lorawan.DevAddr
	for range 16 {
		var r [9]byte
		_, _ = rand.Read(r[:])
		b := blocks[int(r[8])%len(blocks)]
		a = b.At(binary.BigEndian.Uint64(r[:8]))
		if len(s.byAddr[a]) == 0 {
			break
		}
	}
	return a
}
