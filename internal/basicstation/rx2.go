package basicstation

import (
	"fmt"
)

// A Class A dnmsg may carry both receive windows (RX1DR/RX1Freq and
// RX2DR/RX2Freq): Basics Station tries RX1 and, when it cannot place the
// frame there (too late, channel busy, another frame in the way), sends it
// in RX2 one second later. Its dntxed names the frequency and the xtime
// the frame actually went out on, which tells the window used.

// Window is the receive window a router sent a Class A downlink in, as
// far as its dntxed tells.
type Window uint8

// Windows a dntxed may tell; WindowUnknown for a downlink given one
// window only (or Class C), or a dntxed that fits neither.
const (
	WindowUnknown Window = iota
	WindowRX1
	WindowRX2
)

// addRX2 puts the RX2 window of d into the dnmsg m.
func (c *routerConn) addRX2(m map[string]any, d Downlink) error {
	dr, ok := c.s.plan.dataRateIndex(d.RX2DataRate)
	if !ok {
		c.s.m.downlinks.WithLabelValues(dnBadDataRate).Inc()
		return fmt.Errorf("basicstation: RX2 data rate %q is not in the router's plan", d.RX2DataRate)
	}
	m["RX2DR"], m["RX2Freq"] = dr, d.RX2Frequency
	return nil
}

// window tells from the router's dntxed which of the offered windows it
// used: by frequency when the two differ, else by the transmission's
// xtime (RX2 is one second after RX1).
func (p pendingDn) window(d *dntxed) Window {
	if p.rx2Freq == 0 {
		return WindowUnknown
	}
	if p.rx1Freq != p.rx2Freq && d.Freq != 0 {
		switch d.Freq {
		case int64(p.rx1Freq):
			return WindowRX1
		case int64(p.rx2Freq):
			return WindowRX2
		}
		return WindowUnknown
	}
	if d.XTime == 0 {
		return WindowUnknown
	}
	switch uint32(d.XTime) - p.tmst { //nolint:gosec // the low 32 bits, modulo 2^32 as tmst
	case 0:
		return WindowRX1
	case 1_000_000:
		return WindowRX2
	}
	return WindowUnknown
}
