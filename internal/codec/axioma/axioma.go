// Package axioma decodes the "enhanced 24 h" uplink of the Axioma
// QALCOSONIC W1 ultrasonic water meter: meter time, status, the volume at
// the start of the log and 23 hourly consumption deltas packed as 14-bit
// values into a little-endian bit stream.
//
// Fields use the names of the published (community) decoder. The hourly
// history also becomes dated values: the volume at the end of each of the
// 23 hours is a "current_volume_m3" value with its own time. The last
// delta is taken to end at the full hour at or before the meter time, so
// the log volume is 23 hours earlier (the published example: meter time
// 23:09, log at 00:00 of the same day). That anchoring is an inference from
// the example, not from an Axioma document.
package axioma

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id used in firmware profiles.
const ID = "axioma-qalcosonic-w1"

// Frame layout.
const (
	FPort        = 100
	FrameLen     = 51
	frameVersion = 0x01
	deltas       = 23
	deltaBits    = 14
	historyStart = 10 // first byte of the bit stream
)

// Status bits.
const (
	stLowBattery   = 0x04
	stPermanentErr = 0x08
	stTemporaryErr = 0x10
	stLeak         = 0x20
	stBackflow     = 0x60
	stBurst        = 0xA0
	stLowTemp      = 0x80
)

// deltaKeys are the Fields keys of the deltas, built once.
var deltaKeys = func() (k [deltas]string) {
	for i := range k {
		k[i] = fmt.Sprintf("delta_%d_m3", i+1)
	}
	return k
}()

// Decoder decodes W1 frames; immutable and safe for concurrent use.
type Decoder struct{}

var _ codec.Decoder = Decoder{}

// New builds a decoder; the codec takes no options.
func New(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return Decoder{}, nil
}

// Decode implements codec.Decoder.
func (Decoder) Decode(in codec.Input) (codec.Result, error) {
	res := codec.Result{Fields: make(map[string]any, 44)}
	b := in.Bytes
	if in.FPort != FPort {
		return res, fmt.Errorf("%w: %d, the W1 24 h frame comes on %d", codec.ErrFPort, in.FPort, FPort)
	}
	if len(b) < FrameLen {
		return res, fmt.Errorf("%w: %d bytes, want %d", codec.ErrTruncated, len(b), FrameLen)
	}
	if len(b) > FrameLen {
		return res, fmt.Errorf("%w: %d bytes, want %d", codec.ErrFormat, len(b), FrameLen)
	}
	if b[0] != frameVersion {
		return res, fmt.Errorf("%w: frame version %d, want 1", codec.ErrFormat, b[0])
	}
	unix := binary.LittleEndian.Uint32(b[1:5])
	meterTime := time.Unix(int64(unix), 0).UTC()
	status := b[5]
	logLitres := binary.LittleEndian.Uint32(b[6:10])

	f := res.Fields
	f["payload_format"] = "AXIOMA_W1_ENHANCED_24H"
	f["frame_version"] = int(b[0])
	f["payload_bytes"] = len(b)
	f["timestamp_unix"] = int64(unix)
	f["timestamp_utc"] = meterTime.Format("2006-01-02T15:04:05.000Z")
	f["status"] = int(status)
	res.Values = make([]codec.Value, 0, 36)
	backflow := status&stBackflow == stBackflow
	burst := status&stBurst == stBurst
	flags := []struct {
		name string
		on   bool
	}{
		{"low_battery", status&stLowBattery != 0},
		{"permanent_error", status&stPermanentErr != 0},
		{"temporary_error", status&stTemporaryErr != 0},
		// As published: "pipe empty" is the temporary-error bit alone.
		{"pipe_empty", status == stTemporaryErr},
		{"backflow", backflow},
		{"burst", burst},
		{"leakage", status&stLeak != 0 && !backflow && !burst},
		{"low_temperature", status&stLowTemp != 0 && !burst},
	}
	for _, fl := range flags {
		f[fl.name] = fl.on
		res.Values = append(res.Values, codec.Value{Field: fl.name, Value: b2f(fl.on)})
	}
	res.Values = append(res.Values, codec.Value{Field: "status", Value: float64(status)})

	// Hour boundaries: the last delta ends at the full hour at or before the
	// meter time.
	end := meterTime.Truncate(time.Hour)
	logTime := end.Add(-deltas * time.Hour)
	f["log_volume_m3"] = float64(logLitres) / 1000
	res.Values = append(res.Values,
		codec.Value{Field: "log_volume_m3", Value: float64(logLitres) / 1000, Unit: "m3", Time: logTime},
		codec.Value{Field: "current_volume_m3", Value: float64(logLitres) / 1000, Unit: "m3", Time: logTime})
	var sum uint64
	for i := 0; i < deltas; i++ {
		d := bits(b[historyStart:], i*deltaBits, deltaBits)
		sum += d
		f[deltaKeys[i]] = float64(d) / 1000
		// Volume at the end of hour i+1.
		res.Values = append(res.Values, codec.Value{
			Field: "current_volume_m3", Value: float64(uint64(logLitres)+sum) / 1000, Unit: "m3",
			Time: logTime.Add(time.Duration(i+1) * time.Hour),
		})
	}
	mult := bits(b[historyStart:], 322, 6)
	f["history_count"] = deltas
	f["history_total_m3"] = float64(sum) / 1000
	f["current_volume_m3"] = float64(uint64(logLitres)+sum) / 1000
	f["history_multiplier"] = int(mult)
	res.Values = append(res.Values, codec.Value{Field: "history_total_m3", Value: float64(sum) / 1000, Unit: "m3"})
	if mult != 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("history multiplier %d is not applied to the deltas", mult))
	}
	return res, nil
}

// bits reads n bits starting at bit pos of a little-endian bit stream (bit
// k is bit k%8 of byte k/8), least significant bit first.
func bits(b []byte, pos, n int) uint64 {
	shift := pos % 8
	var v uint64
	for k, i := 0, pos/8; k < n+shift && i < len(b); k, i = k+8, i+1 {
		v |= uint64(b[i]) << k
	}
	return v >> shift & (1<<n - 1)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// FieldNames lists every Value.Field the decoder can return.
func (Decoder) FieldNames() []string {
	return []string{"low_battery", "permanent_error", "temporary_error", "pipe_empty", "backflow", "burst",
		"leakage", "low_temperature", "status", "log_volume_m3", "current_volume_m3", "history_total_m3"}
}
