package adr_test

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	"github.com/loraedge/loraedge/internal/network/adr"
)

// TestEU868MatchesBandPackage checks the ADR facts against brocaar/lorawan's
// EU868 tables: DR0..DR5 are SF12..SF7 at 125 kHz, the default max EIRP is
// 16 dBm and each TX power index takes 2 dB more off it.
func TestEU868MatchesBandPackage(t *testing.T) {
	b, err := band.GetConfig(band.EU868, false, lorawan.DwellTimeNoLimit)
	if err != nil {
		t.Fatal(err)
	}
	eu := adr.EU868()
	if err := eu.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := b.GetDefaultMaxUplinkEIRP(); got != 16 {
		t.Fatalf("max EIRP %v dBm, want 16", got)
	}
	// The demodulation floor falls 2.5 dB per spreading factor from -7.5 dB at SF7.
	for dr := 0; dr <= eu.MaxADRDR; dr++ {
		d, err := b.GetDataRate(dr)
		if err != nil {
			t.Fatal(err)
		}
		if d.Modulation != band.LoRaModulation || d.Bandwidth != 125 || d.SpreadFactor != 12-dr {
			t.Fatalf("DR%d is %+v, want SF%d BW125", dr, d, 12-dr)
		}
		if want := -7.5 - 2.5*float64(d.SpreadFactor-7); eu.RequiredSNR[dr] != want {
			t.Errorf("DR%d required SNR %v, want %v", dr, eu.RequiredSNR[dr], want)
		}
	}
	if d, _ := b.GetDataRate(eu.MaxADRDR + 1); d.Bandwidth == 125 && d.Modulation == band.LoRaModulation {
		t.Fatalf("DR%d is still LoRa 125 kHz; the max ADR data rate is too low", eu.MaxADRDR+1)
	}
	for i := 0; i <= eu.MaxTXPowerIndex; i++ {
		off, err := b.GetTXPowerOffset(i)
		if err != nil {
			t.Fatal(err)
		}
		if float64(off) != -eu.TXPowerStepDB*float64(i) {
			t.Errorf("TX power %d: offset %d dB, want %v", i, off, -eu.TXPowerStepDB*float64(i))
		}
	}
	if _, err := b.GetTXPowerOffset(eu.MaxTXPowerIndex + 1); err == nil {
		t.Errorf("the band defines TX power %d; MaxTXPowerIndex is too low", eu.MaxTXPowerIndex+1)
	}
}

func TestBandValidate(t *testing.T) {
	bad := adr.Band{RequiredSNR: []float64{-20}, MaxADRDR: 3, MaxTXPowerIndex: -1}
	if err := bad.Validate(); err == nil {
		t.Fatal("a band without facts validated")
	}
}
