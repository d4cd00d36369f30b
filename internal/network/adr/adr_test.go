package adr

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// feed observes n uplinks at the state's current setting with normalised
// SNRs from snr, starting after the last frame counter; frame counters in
// lost are skipped, as if never received.
func feed(t *testing.T, s *State, n int, snr func(i int) float64, lost ...uint32) uint32 {
	t.Helper()
	fcnt := uint32(0)
	if len(s.History) > 0 {
		fcnt = s.History[len(s.History)-1].FCnt
	}
	for i := 0; i < n; {
		fcnt++
		if slices.Contains(lost, fcnt) {
			continue
		}
		if !s.Observe(Uplink{FCnt: fcnt, DR: s.Setting.DR, TXPowerIndex: s.Setting.TXPowerIndex, SNR: snr(i)}) {
			t.Fatalf("uplink %d refused", fcnt)
		}
		i++
	}
	return fcnt
}

// alternating gives samples of the given mean and a standard deviation
// of about 1 dB.
func alternating(mean float64) func(int) float64 {
	return func(i int) float64 { return mean + float64(i%2*2-1) }
}

func TestRegistry(t *testing.T) {
	if got := Names(); !reflect.DeepEqual(got, []string{"loraedge", "maxsnr"}) {
		t.Fatalf("Names = %v", got)
	}
	if _, ok := registry[DefaultAlgorithm]; !ok {
		t.Fatalf("default %q is not registered", DefaultAlgorithm)
	}
	for _, n := range Names() {
		if a, err := New(n); err != nil || a == nil {
			t.Fatalf("New(%q) = %v, %v", n, a, err)
		}
	}
	if _, err := New("semtech"); err == nil || !strings.Contains(err.Error(), "loraedge") {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestStateHistory(t *testing.T) {
	s := NewState(Setting{DR: 0, NbTrans: 1})
	feed(t, &s, 25, func(i int) float64 { return float64(i) })
	if len(s.History) != HistoryLen || s.History[0].FCnt != 6 || s.History[HistoryLen-1].FCnt != 25 {
		t.Fatalf("history %d entries from %d", len(s.History), s.History[0].FCnt)
	}
	if s.Observe(Uplink{FCnt: 25}) || s.Observe(Uplink{FCnt: 3}) {
		t.Fatal("repeated or old frame counter taken")
	}
	if s.Link.N != 25 || math.Abs(s.Link.Mean-12) > 1e-9 {
		t.Fatalf("link %+v, want 25 samples around 12", s.Link)
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	s := NewState(Setting{DR: 2, TXPowerIndex: 1, NbTrans: 1})
	feed(t, &s, 12, alternating(3), 4, 7)
	s.Apply(Setting{DR: 3, NbTrans: 1}, 15)
	s.HoldUntil = 99
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip:\n%+v\n%+v", back, s)
	}
}

func TestLoss(t *testing.T) {
	s := NewState(Setting{DR: 5, NbTrans: 1})
	feed(t, &s, 18, alternating(5), 3, 4)
	if rate, lost, got := s.loss(); lost != 2 || got != 18 || math.Abs(rate-0.1) > 1e-9 {
		t.Fatalf("loss = %v, %d lost, %d received", rate, lost, got)
	}
	// A change starts a new count.
	s.Apply(Setting{DR: 4, NbTrans: 1}, 21)
	if _, lost, got := s.loss(); lost != 0 || got != 0 {
		t.Fatalf("after a change: %d lost, %d received", lost, got)
	}
	if !reflect.DeepEqual(s.Change, Change{From: Setting{DR: 5, NbTrans: 1}, FCnt: 21, LossBefore: 0.1}) {
		t.Fatalf("change %+v", s.Change)
	}
}

func TestLinkDropResets(t *testing.T) {
	s := NewState(Setting{DR: 5, NbTrans: 1})
	feed(t, &s, 100, alternating(8))
	feed(t, &s, dropWindow, alternating(0))
	// The estimate restarted from the recent uplinks, not the 100 before.
	if s.Link.N >= 2*dropWindow || s.Link.Mean > 4 {
		t.Fatalf("link after a 8 dB drop: %+v", s.Link)
	}
	// A rise only moves the average.
	s2 := NewState(Setting{DR: 0, NbTrans: 1})
	feed(t, &s2, 100, alternating(0))
	feed(t, &s2, dropWindow, alternating(8))
	if s2.Link.N != 100+dropWindow {
		t.Fatalf("link reset on a rise: %+v", s2.Link)
	}
}

func TestLinkWindowForgets(t *testing.T) {
	var l Link
	for range LinkWindow {
		l.add(0)
	}
	for range 3 * LinkWindow {
		l.add(10)
	}
	if l.N != LinkWindow || l.Mean < 9 {
		t.Fatalf("link %+v did not follow a slow rise", l)
	}
}

func TestRobust(t *testing.T) {
	eu := EU868()
	lim := DefaultLimits(eu)
	tests := []struct {
		name  string
		start Setting
		prep  func(t *testing.T, s *State)
		limit func(*Limits)
		want  *Setting // nil: no change
	}{
		{
			name:  "too few samples",
			start: Setting{DR: 0, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 9, alternating(10)) },
		},
		{
			// Mean 0 dB, σ 1, 10 samples: estimate 0 - 3·1/√10 = -0.95 dB.
			// DR3 needs -12.5+10 = -2.5: fits; DR4 needs 0: does not.
			name:  "fastest rate within the margin",
			start: Setting{DR: 0, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 10, alternating(0)) },
			want:  &Setting{DR: 3, NbTrans: 1},
		},
		{
			// Estimate 10 - 0.95 = 9.05 dB: DR5 leaves 6.55 dB above the
			// margin, three 2 dB power steps.
			name:  "then less power",
			start: Setting{DR: 0, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 10, alternating(10)) },
			want:  &Setting{DR: 5, TXPowerIndex: 3, NbTrans: 1},
		},
		{
			name:  "device limit",
			start: Setting{DR: 0, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 10, alternating(10)) },
			limit: func(l *Limits) { l.MaxDR = 3 },
			// The device's fastest rate takes the place of DR5: 9.05+12.5-10 = 11.55 dB spare, five power steps.
			want: &Setting{DR: 3, TXPowerIndex: 5, NbTrans: 1},
		},
		{
			// Fading of 5 dB needs 15 dB above the floor, more than the margin.
			name:  "wide fading widens the margin",
			start: Setting{DR: 0, NbTrans: 1},
			prep: func(t *testing.T, s *State) {
				feed(t, s, 40, func(i int) float64 { return 10 + float64(i%2*2-1)*5 })
			},
			want: &Setting{DR: 4, NbTrans: 1},
		},
		{
			name:  "hysteresis keeps a setting just short of the margin",
			start: Setting{DR: 4, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 400, alternating(-0.25)) },
		},
		{
			name:  "slower when the margin is clearly short",
			start: Setting{DR: 5, TXPowerIndex: 2, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 40, alternating(-1)) },
			want:  &Setting{DR: 3, NbTrans: 1},
		},
		{
			name:  "loss after a faster step: back and hold",
			start: Setting{DR: 2, NbTrans: 1},
			prep: func(t *testing.T, s *State) {
				last := feed(t, s, 12, alternating(4))
				s.Apply(Setting{DR: 5, NbTrans: 1}, last+1)
				feed(t, s, 10, alternating(4), last+3, last+6)
			},
			want: &Setting{DR: 2, NbTrans: 1},
		},
		{
			name:  "loss with no change to blame: one step more robust",
			start: Setting{DR: 5, TXPowerIndex: 2, NbTrans: 1},
			prep: func(t *testing.T, s *State) {
				feed(t, s, 16, alternating(12), 3, 5, 9)
			},
			want: &Setting{DR: 5, TXPowerIndex: 1, NbTrans: 1},
		},
		{
			name:  "loss at the slowest rate and full power: more transmissions",
			start: Setting{DR: 0, NbTrans: 1},
			prep: func(t *testing.T, s *State) {
				feed(t, s, 16, alternating(-12), 2, 4, 8)
			},
			want: &Setting{DR: 0, NbTrans: 2},
		},
		{
			name:  "NbTrans back to one at a faster rate",
			start: Setting{DR: 0, NbTrans: 3},
			prep:  func(t *testing.T, s *State) { feed(t, s, 10, alternating(0)) },
			want:  &Setting{DR: 3, NbTrans: 1},
		},
		{
			name:  "out of limits",
			start: Setting{DR: 6, NbTrans: 1},
			prep:  func(t *testing.T, s *State) { feed(t, s, 10, alternating(-30)) },
			want:  &Setting{DR: 0, NbTrans: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(tt.start)
			tt.prep(t, &s)
			l := lim
			if tt.limit != nil {
				tt.limit(&l)
			}
			d, ok := NewRobust(RobustOptions{}).Decide(&s, eu, l)
			switch {
			case tt.want == nil && ok:
				t.Fatalf("decided %+v (%s), want no change", d.Setting, d.Reason)
			case tt.want != nil && !ok:
				t.Fatalf("no change, want %+v", *tt.want)
			case tt.want != nil && d.Setting != *tt.want:
				t.Fatalf("decided %+v (%s), want %+v", d.Setting, d.Reason, *tt.want)
			}
			if ok && d.Reason == "" {
				t.Fatal("decision without a reason")
			}
		})
	}
}

func TestRobustHoldsAfterStepBack(t *testing.T) {
	eu := EU868()
	r := NewRobust(RobustOptions{})
	s := NewState(Setting{DR: 2, NbTrans: 1})
	last := feed(t, &s, 12, alternating(4))
	s.Apply(Setting{DR: 5, NbTrans: 1}, last+1)
	last = feed(t, &s, 10, alternating(4), last+3, last+6)
	d, ok := r.Decide(&s, eu, DefaultLimits(eu))
	if !ok || d.DR != 2 {
		t.Fatalf("no step back: %+v %v", d, ok)
	}
	s.Apply(d.Setting, last+1)
	if s.HoldUntil != last+120 {
		t.Fatalf("hold until %d, want %d", s.HoldUntil, last+120)
	}
	// The link would allow DR5, but not during the hold.
	last = feed(t, &s, 100, alternating(4))
	if d, ok := r.Decide(&s, eu, DefaultLimits(eu)); ok {
		t.Fatalf("faster during the hold: %+v", d)
	}
	feed(t, &s, int(s.HoldUntil-last), alternating(4))
	if d, ok := r.Decide(&s, eu, DefaultLimits(eu)); !ok || d.DR != 5 {
		t.Fatalf("after the hold: %+v %v, want DR5", d, ok)
	}
}

func TestMaxSNR(t *testing.T) {
	eu := EU868()
	lim := DefaultLimits(eu)
	const raw = 0 // dB measured
	tests := []struct {
		name  string
		start Setting
		n     int
		snr   float64
		lost  []uint32
		want  *Setting
	}{
		// 0 - (-20) - 10 = 10 dB: three steps, all to the data rate.
		{"three steps up", Setting{DR: 0, NbTrans: 1}, 1, raw, nil, &Setting{DR: 3, NbTrans: 1}},
		// At DR5: 10 - (-7.5) - 10 = 7.5 dB: two power steps.
		{"power down at the top", Setting{DR: 5, NbTrans: 1}, 5, 10, nil, &Setting{DR: 5, TXPowerIndex: 2, NbTrans: 1}},
		// -2 dB margin truncates to 0 steps.
		{"small negative margin: nothing", Setting{DR: 5, TXPowerIndex: 3, NbTrans: 1}, 20, 4.5, nil, nil},
		// -4 + 7.5 - 10 = -6.5 dB is -2 steps, but only once 20 uplinks came at this power.
		{"negative margin waits for history", Setting{DR: 5, TXPowerIndex: 3, NbTrans: 1}, 19, -4, nil, nil},
		{"negative margin adds power", Setting{DR: 5, TXPowerIndex: 3, NbTrans: 1}, 20, -4, nil, &Setting{DR: 5, TXPowerIndex: 1, NbTrans: 1}},
		// 2 of 20 lost is 10 %: NbTrans 1 -> 2 in ChirpStack's table.
		{"loss raises NbTrans", Setting{DR: 2, NbTrans: 1}, 20, -5, []uint32{4, 9}, &Setting{DR: 2, NbTrans: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(tt.start)
			// Normalised SNR = measured + power reduction.
			feed(t, &s, tt.n, func(int) float64 { return tt.snr + 2*float64(tt.start.TXPowerIndex) }, tt.lost...)
			d, ok := MaxSNR{}.Decide(&s, eu, lim)
			switch {
			case tt.want == nil && ok:
				t.Fatalf("decided %+v, want no change", d.Setting)
			case tt.want != nil && (!ok || d.Setting != *tt.want):
				t.Fatalf("decided %+v (%v), want %+v", d.Setting, ok, *tt.want)
			}
		})
	}
}

func TestChirpstackNbTrans(t *testing.T) {
	tests := []struct {
		cur  int
		loss float64
		want int
	}{
		{1, 0, 1}, {3, 4.9, 2}, {1, 5, 1}, {2, 9, 2}, {1, 10, 2}, {3, 29, 3}, {1, 30, 3}, {0, 0, 1}, {9, 50, 3},
	}
	for _, tt := range tests {
		if got := chirpstackNbTrans(tt.cur, tt.loss); got != tt.want {
			t.Errorf("chirpstackNbTrans(%d, %v) = %d, want %d", tt.cur, tt.loss, got, tt.want)
		}
	}
}
