package semtechudp

import (
	"time"
)

// Reasons of loraedge_semtechudp_gateway_time_rejected_total.
const (
	// TimeHostSkew: the rxpk time is further from the host clock than
	// GPSTimeConfig.MaxHostSkew.
	TimeHostSkew = "host_skew"
	// TimeTmstDrift: since the gateway's previous timed rxpk, the rxpk time
	// advanced differently from tmst (a stuck or jumping GPS clock).
	TimeTmstDrift = "tmst_drift"
)

var gpsTimeReasons = []string{TimeHostSkew, TimeTmstDrift}

// tmstPeriod is the wrap period of the concentrator's 32-bit microsecond
// counter (about 71.6 minutes).
const tmstPeriod = int64(1) << 32

// gpsClock is one gateway's last timed rxpk: the reference against which
// the next rxpk time must advance with tmst.
type gpsClock struct {
	valid bool
	time  time.Time
	tmst  uint32
}

// check reports why the rxpk time t, received at tmst and on the host at
// now, is not to be trusted ("" when it is), and moves the reference to
// this rxpk either way: a gateway whose GPS recovers is trusted again from
// its second consistent rxpk, and a stuck clock never becomes a reference
// that later frames agree with.
func (c *gpsClock) check(cfg GPSTimeConfig, t time.Time, tmst uint32, now time.Time) string {
	prev := *c
	*c = gpsClock{valid: true, time: t, tmst: tmst}
	if !cfg.IgnoreHostClock {
		if d := t.Sub(now).Abs(); d > cfg.MaxHostSkew {
			return TimeHostSkew
		}
	}
	if !prev.valid {
		return ""
	}
	// The GPS time must advance by the tmst difference plus whole wraps of
	// the counter: frames an hour or more apart still compare exactly.
	dGPS := t.Sub(prev.time).Microseconds()
	dTmst := int64(tmst - prev.tmst)
	diff := (dGPS - dTmst) % tmstPeriod
	if diff > tmstPeriod/2 {
		diff -= tmstPeriod
	} else if diff < -tmstPeriod/2 {
		diff += tmstPeriod
	}
	if time.Duration(diff)*time.Microsecond > cfg.MaxTmstDrift || time.Duration(-diff)*time.Microsecond > cfg.MaxTmstDrift {
		return TimeTmstDrift
	}
	return ""
}
