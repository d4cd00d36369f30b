package adr

import (
	"cmp"
	"fmt"
	"math"
)

// RobustOptions tune the "loraedge" algorithm; zero fields take the
// defaults named in each comment.
type RobustOptions struct {
	// MinSamples is how many uplinks the current setting needs before a
	// decision, so that its loss can be judged (10).
	MinSamples int
	// Confidence is how many standard errors of the mean the link estimate
	// stays below the sample mean (3).
	Confidence float64
	// FadingSigmas is how many standard deviations of the fading a setting
	// keeps above the floor when that exceeds the installation margin (3).
	FadingSigmas float64
	// MinStd is the least fading assumed, in dB, so a few alike samples do
	// not make the estimate overconfident (1).
	MinStd float64
	// Hysteresis is how far, in dB, the current setting must fall short of
	// the margin before ADR moves to a slower one (0.5).
	Hysteresis float64
	// LossRise is the rise in loss after a faster setting that takes the
	// step back (0.05).
	LossRise float64
	// LossHigh is the loss that makes the setting more robust even without
	// a recent change to blame (0.1).
	LossHigh float64
	// HoldFrames is how many frames faster settings stay suspended after a
	// step had to be taken back (120).
	HoldFrames uint32
}

func (o RobustOptions) withDefaults() RobustOptions {
	o.MinSamples = cmp.Or(o.MinSamples, 10)
	o.Confidence = cmp.Or(o.Confidence, 3)
	o.FadingSigmas = cmp.Or(o.FadingSigmas, 3)
	o.MinStd = cmp.Or(o.MinStd, 1)
	o.Hysteresis = cmp.Or(o.Hysteresis, 0.5)
	o.LossRise = cmp.Or(o.LossRise, 0.05)
	o.LossHigh = cmp.Or(o.LossHigh, 0.1)
	o.HoldFrames = cmp.Or(o.HoldFrames, 120)
	return o
}

// Robust is the "loraedge" algorithm. It estimates the link from the mean
// of the normalised SNR minus its uncertainty, not from the best sample
// (which overstates the link by about two standard deviations of the
// fading). The mean runs over up to LinkWindow uplinks rather than the 20
// of the history: normalised samples stay comparable across settings, and
// only a long mean is precise enough to use the margin without overdrawing
// it. It sets the fastest data rate, then the lowest power, whose floor
// stays the installation margin below that estimate, stepping by the
// band's real dB per data rate and power index (2.5 and 2 dB in EU868)
// rather than a 3 dB rule of thumb. Loss closes the loop: if
// frames go missing after a faster setting, it steps back and holds; loss
// at the slowest rate and full power, which no slower rate can fix, raises
// NbTrans.
type Robust struct {
	opt RobustOptions
}

var _ Algorithm = (*Robust)(nil)

// NewRobust returns the algorithm with defaults filled in.
func NewRobust(o RobustOptions) *Robust {
	return &Robust{opt: o.withDefaults()}
}

// Decide implements Algorithm.
func (r *Robust) Decide(s *State, b Band, l Limits) (Decision, bool) {
	o := r.opt
	cur := s.Setting
	samples := s.current()
	if len(samples) < o.MinSamples || s.Link.N < o.MinSamples {
		return Decision{}, false
	}
	last := samples[len(samples)-1].FCnt
	loss, lost, _ := s.loss()
	maxDR := l.maxDR(b)
	minDR := min(max(l.MinDR, 0), maxDR)
	robust := func(st Setting) bool { return st.DR <= minDR && st.TXPowerIndex == 0 }

	if s.Change.Faster && lost >= 2 && loss > s.Change.LossBefore+o.LossRise {
		next := s.Change.From
		next.NbTrans = cur.NbTrans
		s.HoldUntil = last + o.HoldFrames
		return Decision{Setting: next, Reason: fmt.Sprintf("loss %.0f%% after the change (%.0f%% before): back, hold %d frames", loss*100, s.Change.LossBefore*100, o.HoldFrames)}, true
	}
	if lost >= 2 && loss > o.LossHigh {
		next := cur
		if robust(cur) {
			if cur.NbTrans >= l.MaxNbTrans {
				return Decision{}, false
			}
			next.NbTrans++
			return Decision{Setting: next, Reason: fmt.Sprintf("loss %.0f%% at the slowest rate and full power: %d transmissions", loss*100, next.NbTrans)}, true
		}
		if cur.TXPowerIndex > 0 {
			next.TXPowerIndex--
		} else {
			next.DR = max(min(cur.DR, maxDR)-1, minDR)
		}
		s.HoldUntil = last + o.HoldFrames
		return Decision{Setting: next, Reason: fmt.Sprintf("loss %.0f%%: one step more robust, hold %d frames", loss*100, o.HoldFrames)}, true
	}

	sigma := max(s.Link.Std(), o.MinStd)
	est := s.Link.Mean - o.Confidence*sigma/math.Sqrt(float64(s.Link.N))
	need := max(l.Margin, o.FadingSigmas*sigma)
	avail := func(dr, power int) float64 {
		return est - float64(power)*b.TXPowerStepDB - b.RequiredSNR[dr]
	}
	target := Setting{DR: minDR, NbTrans: cur.NbTrans}
	for dr := maxDR; dr > minDR; dr-- {
		if avail(dr, 0) >= need {
			target.DR = dr
			break
		}
	}
	if target.DR == maxDR {
		for p := b.MaxTXPowerIndex; p > 0; p-- {
			if avail(maxDR, p) >= need {
				target.TXPowerIndex = p
				break
			}
		}
	}

	next := cur
	switch {
	case cur.DR > maxDR || cur.DR < minDR || cur.TXPowerIndex > b.MaxTXPowerIndex || cur.TXPowerIndex < 0:
		next.DR, next.TXPowerIndex = target.DR, target.TXPowerIndex
	case faster(target, cur) && last >= s.HoldUntil:
		next.DR, next.TXPowerIndex = target.DR, target.TXPowerIndex
	case faster(cur, target) && avail(cur.DR, cur.TXPowerIndex) < need-o.Hysteresis:
		next.DR, next.TXPowerIndex = target.DR, target.TXPowerIndex
	}
	switch {
	case !robust(next):
		next.NbTrans = 1
	case next.NbTrans > 1 && lost == 0 && len(samples) >= HistoryLen && avail(next.DR, next.TXPowerIndex) >= need:
		next.NbTrans--
	}
	next.NbTrans = max(next.NbTrans, 1)
	if next == cur {
		return Decision{}, false
	}
	return Decision{Setting: next, Reason: fmt.Sprintf("link %.1f dB (mean %.1f, σ %.1f, n %d), margin %.1f dB needed", est, s.Link.Mean, sigma, s.Link.N, need)}, true
}

// faster reports whether a gives up more link budget than b: a faster data
// rate, or the same one with less power.
func faster(a, b Setting) bool {
	if a.DR != b.DR {
		return a.DR > b.DR
	}
	return a.TXPowerIndex > b.TXPowerIndex
}
