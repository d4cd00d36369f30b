package adr

import "math"

// State is the ADR state of one device. It is a plain value with JSON tags
// so the network can store it with the session; a rejoin starts a new one,
// because frame counters restart.
type State struct {
	// Setting is what the device uses now: the network updates it with
	// Apply once the device has accepted a LinkADRReq.
	Setting Setting `json:"setting"`
	// History holds the last HistoryLen uplinks, oldest first.
	History History `json:"history"`
	// Link is the long-run estimate of the normalised SNR.
	Link Link `json:"link"`
	// Change records the last setting change, so losses can be compared
	// before and after it.
	Change Change `json:"change"`
	// HoldUntil suspends faster settings until this FCnt, after a change
	// had to be taken back.
	HoldUntil uint32 `json:"hold_until"`
}

// Change is the last applied setting change.
type Change struct {
	From Setting `json:"from"`
	// FCnt is the first frame counter sent with the new setting.
	FCnt uint32 `json:"f_cnt"`
	// LossBefore is the frame loss measured in the old setting.
	LossBefore float64 `json:"loss_before"`
	// Faster is set when the change lowered robustness (a faster data
	// rate or less power), which is what a rise in loss is blamed on.
	Faster bool `json:"faster"`
}

// NewState returns the state of a device that starts with setting.
func NewState(setting Setting) State {
	return State{Setting: setting}
}

// Observe adds a received uplink. Repeated or older frame counters are
// ignored (the network passes each frame once, after deduplication). It
// reports whether the uplink was taken.
func (s *State) Observe(u Uplink) bool {
	if n := len(s.History); n > 0 && u.FCnt <= s.History[n-1].FCnt {
		return false
	}
	s.History = append(s.History, u)
	if len(s.History) > HistoryLen {
		s.History = append(s.History[:0], s.History[len(s.History)-HistoryLen:]...)
	}
	s.Link.add(u.SNR)
	s.Link.resetOnDrop(s.History)
	return true
}

// Apply records that the device now uses setting from frame counter fcnt
// on (the first uplink after it accepted the LinkADRReq).
func (s *State) Apply(setting Setting, fcnt uint32) {
	if setting == s.Setting {
		return
	}
	loss, _, _ := s.loss()
	s.Change = Change{
		From:       s.Setting,
		FCnt:       fcnt,
		LossBefore: loss,
		Faster:     setting.DR > s.Setting.DR || setting.TXPowerIndex > s.Setting.TXPowerIndex,
	}
	s.Setting = setting
}

// current returns the uplinks of the history sent with the current data
// rate and power since the last change.
func (s *State) current() []Uplink {
	out := make([]Uplink, 0, len(s.History))
	for _, u := range s.History {
		if u.FCnt >= s.Change.FCnt && u.DR == s.Setting.DR && u.TXPowerIndex == s.Setting.TXPowerIndex {
			out = append(out, u)
		}
	}
	return out
}

// loss returns the share of frames missing from the frame-counter run of
// the current setting's uplinks, with the counts behind it.
func (s *State) loss() (rate float64, lost, received int) {
	cur := s.current()
	if len(cur) < 2 {
		return 0, 0, len(cur)
	}
	span := cur[len(cur)-1].FCnt - cur[0].FCnt + 1
	lost = int(span) - len(cur)
	return float64(lost) / float64(span), lost, len(cur)
}

// Link is a running mean and variance of the normalised SNR (Welford's
// method). Once it holds LinkWindow samples it turns into an exponential
// average with the same weight, so it keeps following a slowly changing
// link.
type Link struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	M2   float64 `json:"m2"`
}

// LinkWindow is the sample count after which Link forgets old samples.
const LinkWindow = 400

// dropWindow is how many recent uplinks are compared with the long-run
// mean to spot a link that got worse.
const dropWindow = 8

func (l *Link) add(x float64) {
	if l.N < LinkWindow {
		l.N++
		d := x - l.Mean
		l.Mean += d / float64(l.N)
		l.M2 += d * (x - l.Mean)
		return
	}
	const a = 1.0 / LinkWindow
	d := x - l.Mean
	l.Mean += a * d
	v := (1 - a) * (l.M2/float64(l.N-1) + a*d*d)
	l.M2 = v * float64(l.N-1)
}

// Std is the sample standard deviation, 0 below two samples.
func (l Link) Std() float64 {
	if l.N < 2 {
		return 0
	}
	return math.Sqrt(l.M2 / float64(l.N-1))
}

// resetOnDrop restarts the estimate from the recent uplinks when they sit
// clearly below the long-run mean: an obstacle or a moved device must not
// wait for hundreds of samples to be noticed. Rises are left to the
// average, since being slow there only costs airtime.
func (l *Link) resetOnDrop(h []Uplink) {
	if l.N < 2*dropWindow || len(h) < dropWindow {
		return
	}
	recent := h[len(h)-dropWindow:]
	var sum float64
	for _, u := range recent {
		sum += u.SNR
	}
	mean := sum / dropWindow
	if mean >= l.Mean-max(3, 4*l.Std()/math.Sqrt(dropWindow)) {
		return
	}
	*l = Link{}
	for _, u := range recent {
		l.add(u.SNR)
	}
}
