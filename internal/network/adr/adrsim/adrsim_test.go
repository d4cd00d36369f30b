package adrsim

import (
	"reflect"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/network/adr"
)

// TestFieldEmulation runs the field under every registered
// algorithm, asserts the acceptance targets for "loraedge" and prints the
// others beside it for comparison.
func TestFieldEmulation(t *testing.T) {
	f := EU868Field()
	results := map[string]Result{}
	for _, name := range adr.Names() {
		alg, err := adr.New(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(f, name, alg)
		if err != nil {
			t.Fatal(err)
		}
		results[name] = r
		t.Log(r)
	}
	r := results[adr.DefaultAlgorithm]
	n := len(r.Devices)
	if n != f.Devices {
		t.Fatalf("%d devices, want %d", n, f.Devices)
	}
	if r.AtFastest*10 < n*9 {
		t.Errorf("%d of %d devices at the fastest rate their mean SNR allows, want >= 90 %%", r.AtFastest, n)
	}
	if r.BeyondMargin != 0 {
		t.Errorf("%d devices beyond their margin, want none", r.BeyondMargin)
	}
	if r.LossAfter() >= 0.05 {
		t.Errorf("%.2f %% of transmissions lost after convergence, want < 5 %%", 100*r.LossAfter())
	}
	if r.AirtimeLastHour*3 > r.AirtimeFirstHour {
		t.Errorf("airtime %v/h after ADR, %v/h before: less than a third saved", r.AirtimeLastHour, r.AirtimeFirstHour)
	}
	for _, d := range r.Devices {
		if d.Final.DR != d.Fastest || d.Spare < 0 {
			t.Logf("  mean SNR %5.2f dB: %+v, fastest DR%d, %.2f dB spare", d.MeanSNR, d.Final, d.Fastest, d.Spare)
		}
	}
}

func TestRunIsDeterministic(t *testing.T) {
	f := EU868Field()
	f.Duration = 5 * f.Interval * 30
	a, err := Run(f, "loraedge", adr.NewRobust(adr.RobustOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(f, "loraedge", adr.NewRobust(adr.RobustOptions{}))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with one seed differ")
	}
}

func TestRunRejectsBadField(t *testing.T) {
	f := EU868Field()
	f.Devices = 0
	if _, err := Run(f, "x", adr.MaxSNR{}); err == nil {
		t.Fatal("a field without devices ran")
	}
	f = EU868Field()
	f.Band.TXPowerStepDB = 0
	if _, err := Run(f, "x", adr.MaxSNR{}); err == nil {
		t.Fatal("a field with a bad band ran")
	}
}

func TestFastestDR(t *testing.T) {
	b := adr.EU868()
	l := adr.DefaultLimits(b)
	tests := []struct {
		mean float64
		want int
	}{
		{-20, 0}, {-5.01, 1}, {-5, 2}, {-2.5, 3}, {-0.01, 3}, {0, 4}, {2.5, 5}, {10, 5},
	}
	for _, tt := range tests {
		if got := FastestDR(tt.mean, b, l); got != tt.want {
			t.Errorf("FastestDR(%v) = %d, want %d", tt.mean, got, tt.want)
		}
	}
	l.MaxDR = 3
	if got := FastestDR(10, b, l); got != 3 {
		t.Errorf("FastestDR with MaxDR 3 = %d", got)
	}
}

func TestBackoff(t *testing.T) {
	s := adr.Setting{DR: 5, TXPowerIndex: 4, NbTrans: 1}
	if got := backoff(s, adrAckLimit+adrAckDelay-1, 0); got != s {
		t.Fatalf("backed off early: %+v", got)
	}
	s = backoff(s, adrAckLimit+adrAckDelay, 0)
	if s != (adr.Setting{DR: 5, TXPowerIndex: 0, NbTrans: 1}) {
		t.Fatalf("first backoff %+v, want full power", s)
	}
	if got := backoff(s, adrAckLimit+adrAckDelay+1, 0); got != s {
		t.Fatalf("backed off between delays: %+v", got)
	}
	s = backoff(s, adrAckLimit+2*adrAckDelay, 0)
	if s.DR != 4 {
		t.Fatalf("second backoff %+v, want DR4", s)
	}
}

// TestFieldEmulationLinkDrop worsens every fourth device's link by 8 dB
// after 30 hours: "loraedge" must notice from the SNR and the loss, move
// those devices back inside their margin and keep the loss low.
func TestFieldEmulationLinkDrop(t *testing.T) {
	f := EU868Field()
	f.Drop = &Drop{Every: 4, At: 30 * time.Hour, DB: 8}
	for _, name := range adr.Names() {
		alg, _ := adr.New(name)
		r, err := Run(f, name, alg)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r)
		if name != adr.DefaultAlgorithm {
			continue
		}
		if r.BeyondMargin != 0 {
			t.Errorf("%d devices beyond their margin after the drop", r.BeyondMargin)
		}
		if r.OutOfReach == 0 {
			t.Error("no device out of reach: the drop is too weak to test anything")
		}
		if r.LossAfter() >= 0.05 {
			t.Errorf("%.2f %% of transmissions lost in the second half, want < 5 %%", 100*r.LossAfter())
		}
		for i, d := range r.Devices {
			if i%4 == 0 || d.Final.DR != d.Fastest || d.Spare < 0 {
				t.Logf("  device %2d mean SNR %5.2f dB: %+v, fastest DR%d, %.2f dB spare", i, d.MeanSNR, d.Final, d.Fastest, d.Spare)
			}
		}
	}
}
