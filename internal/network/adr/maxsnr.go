package adr

import (
	"fmt"
	"math"
)

// MaxSNR is ChirpStack v3's default ADR algorithm, kept for comparison: the
// margin is the best SNR of the history minus the floor of the current data
// rate minus the installation margin, and every whole 3 dB of it is one
// step, first to a faster data rate, then to less power; a negative margin
// adds power once the whole history was sent at the current power. NbTrans
// follows the loss of the history in ChirpStack's table. Like ChirpStack it
// looks at the measured SNR, so samples sent with more power before a step
// still count at full strength.
type MaxSNR struct{}

var _ Algorithm = MaxSNR{}

// Decide implements Algorithm.
func (MaxSNR) Decide(s *State, b Band, l Limits) (Decision, bool) {
	if len(s.History) == 0 {
		return Decision{}, false
	}
	cur := s.Setting
	next := cur
	maxDR := l.maxDR(b)
	next.DR = min(next.DR, maxDR)
	next.NbTrans = chirpstackNbTrans(cur.NbTrans, chirpstackLoss(s.History))

	dr := s.History[len(s.History)-1].DR
	if dr < 0 || dr >= len(b.RequiredSNR) {
		return Decision{}, false
	}
	best, atPower := math.Inf(-1), 0
	for _, u := range s.History {
		best = max(best, u.SNR-float64(u.TXPowerIndex)*b.TXPowerStepDB)
		if u.TXPowerIndex == cur.TXPowerIndex {
			atPower++
		}
	}
	margin := best - b.RequiredSNR[dr] - l.Margin
	steps := int(margin / 3) // truncated toward zero, as in ChirpStack's Go code
	if steps >= 0 || atPower == HistoryLen {
		next.TXPowerIndex, next.DR = idealPowerAndDR(steps, next.TXPowerIndex, next.DR, b.MaxTXPowerIndex, maxDR)
	}
	if next == cur {
		return Decision{}, false
	}
	return Decision{Setting: next, Reason: fmt.Sprintf("max SNR %.1f dB, margin %.1f dB: %d steps", best, margin, steps)}, true
}

func idealPowerAndDR(steps, power, dr, maxPower, maxDR int) (int, int) {
	for ; steps > 0; steps-- {
		if dr < maxDR {
			dr++
		} else if power < maxPower {
			power++
		}
	}
	for ; steps < 0; steps++ {
		if power > 0 {
			power--
		}
	}
	return power, dr
}

// chirpstackLoss is the lost share of frames in percent, counted only on a
// full history, relative to the number of uplinks received.
func chirpstackLoss(h []Uplink) float64 {
	if len(h) < HistoryLen {
		return 0
	}
	var lost uint32
	for i := 1; i < len(h); i++ {
		lost += h[i].FCnt - h[i-1].FCnt - 1
	}
	return float64(lost) / float64(len(h)) * 100
}

func chirpstackNbTrans(cur int, lossPercent float64) int {
	table := [4][3]int{{1, 1, 2}, {1, 2, 3}, {2, 3, 3}, {3, 3, 3}}
	cur = min(max(cur, 1), 3)
	row := 3
	switch {
	case lossPercent < 5:
		row = 0
	case lossPercent < 10:
		row = 1
	case lossPercent < 30:
		row = 2
	}
	return table[row][cur-1]
}
