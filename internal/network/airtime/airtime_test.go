package airtime

import (
	"errors"
	"testing"
	"time"

	lwairtime "github.com/brocaar/lorawan/airtime"
)

// The expected values are the published outputs of the AN1200.13 formula:
// rfwireless-world's LoRaWAN airtime calculator examples 1 and 2 and the
// TTN airtime spreadsheet (Semtech LoRa Modem Designer's Guide formulas),
// plus hand calculations from the SX1276 datasheet for the other columns.
func TestTimeOnAir(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		want time.Duration
	}{
		{"SF7 10 B (calculator example 1)", Frame{SF: 7, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 10, PreambleSymbols: 8, ExplicitHeader: true, CRC: true}, 41216 * time.Microsecond},
		{"SF11 10 B LDRO (calculator example 2)", Frame{SF: 11, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 10, PreambleSymbols: 8, ExplicitHeader: true, CRC: true, LowDataRateOptimize: true}, 577536 * time.Microsecond},
		{"SF9 13 B (spreadsheet)", Frame{SF: 9, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 13, PreambleSymbols: 8, ExplicitHeader: true, CRC: true}, 164864 * time.Microsecond},
		// 8*13-48+28+16 = 100 -> ceil(100/40)=3 -> 8+3*8 = 32 symbols; 44.25 * 32.768 ms.
		{"SF12 13 B CR4/8 LDRO", Frame{SF: 12, BandwidthHz: 125000, CodingRate: 4, PayloadLen: 13, PreambleSymbols: 8, ExplicitHeader: true, CRC: true, LowDataRateOptimize: true}, 1449984 * time.Microsecond},
		// 8*20-28+28+16 = 176 -> ceil(176/28)=7 -> 8+35 = 43 symbols; 12.25+43 = 55.25 * 1.024 ms.
		{"SF7 20 B", Frame{SF: 7, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 20, PreambleSymbols: 8, ExplicitHeader: true, CRC: true}, 56576 * time.Microsecond},
		// 8*51-48+28+16 = 404 -> ceil(404/40)=11 -> 8+55 = 63 symbols; 75.25 * 32.768 ms.
		{"SF12 51 B LDRO", Frame{SF: 12, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 51, PreambleSymbols: 8, ExplicitHeader: true, CRC: true, LowDataRateOptimize: true}, 2465792 * time.Microsecond},
		// SF7 at 250 kHz: 0.512 ms symbols, same 43 symbols as SF7 20 B.
		{"SF7BW250 20 B", Frame{SF: 7, BandwidthHz: 250000, CodingRate: 1, PayloadLen: 20, PreambleSymbols: 8, ExplicitHeader: true, CRC: true}, 28288 * time.Microsecond},
		// No CRC (a downlink): 8*12-40+28 = 84 -> ceil(84/32)=3 -> 8+15 = 23; 35.25 * 8.192 ms.
		{"SF10 12 B no CRC", Frame{SF: 10, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 12, PreambleSymbols: 8, ExplicitHeader: true}, 288768 * time.Microsecond},
		// Implicit header, empty payload: the numerator is negative, so only the 8 fixed symbols.
		{"SF12 empty implicit", Frame{SF: 12, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 0, PreambleSymbols: 8, LowDataRateOptimize: true}, time.Duration(2025) * 32768 * time.Microsecond / 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.TimeOnAir()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("TimeOnAir = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTimeOnAirMatchesLibrary cross-checks every LoRaWAN uplink size and
// spreading factor against brocaar/lorawan's airtime package, which
// implements the same formula independently.
func TestTimeOnAirMatchesLibrary(t *testing.T) {
	for sf := 7; sf <= 12; sf++ {
		for n := 0; n <= 255; n++ {
			got, err := Uplink(sf, 125000, n)
			if err != nil {
				t.Fatal(err)
			}
			want, err := lwairtime.CalculateLoRaAirtime(n, sf, 125, 8, lwairtime.CodingRate45, true, sf >= 11)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("SF%d %d B: %v, library %v", sf, n, got, want)
			}
		}
	}
}

func TestUplinkDownlink(t *testing.T) {
	up, err := Uplink(12, 125000, 23)
	if err != nil {
		t.Fatal(err)
	}
	down, err := Downlink(12, 125000, 23)
	if err != nil {
		t.Fatal(err)
	}
	// 8*23-48+28(+16) over 40: ceil(164/40)=5 symbol blocks without CRC, ceil(180/40)=5 with.
	if want := 1482752 * time.Microsecond; up != want || down != want {
		t.Fatalf("uplink %v, downlink %v, want both %v", up, down, want)
	}
	up, _ = Uplink(7, 125000, 14)
	down, _ = Downlink(7, 125000, 14)
	if up <= down {
		t.Fatalf("the CRC must cost airtime at SF7 14 B: uplink %v, downlink %v", up, down)
	}
}

func TestTimeOnAirInvalid(t *testing.T) {
	good := Frame{SF: 7, BandwidthHz: 125000, CodingRate: 1, PayloadLen: 10, PreambleSymbols: 8}
	for name, mutate := range map[string]func(*Frame){
		"SF6":        func(f *Frame) { f.SF = 6 },
		"SF13":       func(f *Frame) { f.SF = 13 },
		"bandwidth":  func(f *Frame) { f.BandwidthHz = 200000 },
		"CR0":        func(f *Frame) { f.CodingRate = 0 },
		"CR5":        func(f *Frame) { f.CodingRate = 5 },
		"negative":   func(f *Frame) { f.PayloadLen = -1 },
		"oversize":   func(f *Frame) { f.PayloadLen = 256 },
		"preamble 0": func(f *Frame) { f.PreambleSymbols = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			f := good
			mutate(&f)
			if _, err := f.TimeOnAir(); !errors.Is(err, ErrInvalidFrame) {
				t.Fatalf("err = %v, want ErrInvalidFrame", err)
			}
		})
	}
}
