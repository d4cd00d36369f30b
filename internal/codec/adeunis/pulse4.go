// Package adeunis decodes the Adeunis Pulse 4 two-channel pulse counter.
// Frames start with a frame code and a status byte; an optional trailing
// timestamp counts seconds since 2013-01-01 UTC. Historised frames (0x5A,
// 0x5B) carry the current counter followed by backward 16-bit deltas, newest
// first; their spacing is the device's sampling configuration, which is not
// in the frame, so it comes from the codec option history_interval.
package adeunis

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// Epoch is the zero of Adeunis timestamps.
var Epoch = time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC)

const tsLayout = "2006-01-02T15:04:05.000"

// Options of the Pulse 4 codec.
type Options struct {
	// HistoryInterval is the time between the historised counter values
	// of 0x5A/0x5B frames (Go duration, e.g. "10m"), as configured on the
	// device. Without it only the newest value of such a frame is dated.
	HistoryInterval string `json:"history_interval"`
}

// Decoder decodes Pulse 4 frames; safe for concurrent use.
type Decoder struct {
	interval time.Duration
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	d := &Decoder{}
	if o.HistoryInterval != "" {
		iv, err := time.ParseDuration(o.HistoryInterval)
		if err != nil || iv <= 0 {
			return nil, fmt.Errorf("history_interval %q: want a positive duration like 10m", o.HistoryInterval)
		}
		d.interval = iv
	}
	return d, nil
}

var frameNames = map[byte]string{
	0x10: "0x10 Pulse 4 configuration",
	0x11: "0x11 Pulse 4 configuration (leakage)",
	0x12: "0x12 Pulse 4 configuration (tamper)",
	0x20: "0x20 Configuration",
	0x30: "0x30 Keep alive",
	0x33: "0x33 Set register status",
	0x46: "0x46 Pulse 4 data",
	0x47: "0x47 Pulse 4 alarm",
	0x5A: "0x5a Pulse 4 data - channel A",
	0x5B: "0x5b Pulse 4 data - channel B",
}

// Decode implements codec.Decoder. The fPort is not part of the format.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	if len(b) < 2 {
		return codec.Result{}, fmt.Errorf("%w: %d bytes, header needs 2", codec.ErrTruncated, len(b))
	}
	code, st := b[0], b[1]
	name, ok := frameNames[code]
	if !ok {
		return codec.Result{}, fmt.Errorf("%w: unknown frame code 0x%02x", codec.ErrFormat, code)
	}
	hasTS := st&0x04 != 0
	body := map[string]any{
		"type": name,
		"status": map[string]any{
			"frameCounter":      int(st >> 5),
			"hardwareError":     false,
			"lowBattery":        st&0x02 != 0,
			"configurationDone": st&0x01 != 0,
			"timestamp":         hasTS,
		},
	}
	res := codec.Result{Fields: map[string]any{"bytes": body}}
	res.Values = append(res.Values, codec.Value{Field: "lowBattery", Value: float64(st >> 1 & 1), Unit: "1"})

	// need is the frame's fixed length without the optional timestamp.
	need := map[byte]int{0x46: 10, 0x47: 6, 0x30: 11, 0x5A: 6, 0x5B: 6}[code]
	if need == 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("frame %s not decoded", name))
		return res, nil
	}
	if hasTS {
		need += 4
	}
	if len(b) < need {
		return res, fmt.Errorf("%w: frame 0x%02x needs %d bytes, got %d", codec.ErrTruncated, code, need, len(b))
	}
	end := len(b)
	var ts time.Time
	if hasTS {
		end -= 4
		ts = Epoch.Add(time.Duration(binary.BigEndian.Uint32(b[end:])) * time.Second)
		body["timestamp"] = ts.Format(tsLayout)
	}
	u16 := func(i int) float64 { return float64(binary.BigEndian.Uint16(b[i:])) }
	u32 := func(i int) float64 { return float64(binary.BigEndian.Uint32(b[i:])) }

	switch code {
	case 0x46:
		a, bb := u32(2), u32(6)
		body["counterValues"] = []float64{a, bb}
		res.Values = append(res.Values,
			codec.Value{Field: "counterValues", Channel: 1, Value: a, Unit: "1", Time: ts},
			codec.Value{Field: "counterValues", Channel: 2, Value: bb, Unit: "1", Time: ts})
	case 0x47:
		a, bb := u16(2), u16(4)
		body["flowValues"] = []float64{a, bb}
		res.Values = append(res.Values,
			codec.Value{Field: "flowValues", Channel: 1, Value: a, Unit: "1", Time: ts},
			codec.Value{Field: "flowValues", Channel: 2, Value: bb, Unit: "1", Time: ts})
	case 0x30:
		al := b[2]
		alarms := map[string]any{
			"flowAlarmA": al&0x01 != 0, "flowAlarmB": al&0x02 != 0,
			"tamperAlarmA": al&0x04 != 0, "tamperAlarmB": al&0x08 != 0,
			"leakageAlarmA": al&0x10 != 0, "leakageAlarmB": al&0x20 != 0,
		}
		body["alarmStatus"] = alarms
		body["maxFlowValues"] = []float64{u16(3), u16(5)}
		body["minFlowValues"] = []float64{u16(7), u16(9)}
		for ch, bits := range map[int]byte{1: al, 2: al >> 1} {
			res.Values = append(res.Values,
				codec.Value{Field: "tamperAlarm", Channel: ch, Value: float64(bits >> 2 & 1), Unit: "1", Time: ts},
				codec.Value{Field: "leakageAlarm", Channel: ch, Value: float64(bits >> 4 & 1), Unit: "1", Time: ts})
		}
	case 0x5A, 0x5B:
		ch := 1
		if code == 0x5B {
			ch = 2
		}
		deltas := b[6:end]
		if len(deltas)%2 != 0 {
			return res, fmt.Errorf("%w: frame 0x%02x has an odd number of delta bytes", codec.ErrFormat, code)
		}
		vals := make([]float64, 1+len(deltas)/2)
		vals[0] = u32(2)
		for k := 1; k < len(vals); k++ {
			vals[k] = vals[k-1] - float64(binary.BigEndian.Uint16(deltas[2*(k-1):]))
		}
		body["decodingInfo"] = "counterValues: [t=0, t-1, t-2, ...]"
		body["counterValues"] = vals
		res.Values = append(res.Values, codec.Value{Field: "counterValues", Channel: ch, Value: vals[0], Unit: "1", Time: ts})
		base := ts
		if base.IsZero() {
			base = in.RecvTime
		}
		switch {
		case len(vals) == 1:
		case d.interval == 0:
			res.Warnings = append(res.Warnings, fmt.Sprintf("history_interval not configured: %d older counter values not dated", len(vals)-1))
		case base.IsZero():
			res.Warnings = append(res.Warnings, "no frame timestamp and no receive time: older counter values not dated")
		default:
			for k := 1; k < len(vals); k++ {
				res.Values = append(res.Values, codec.Value{Field: "counterValues", Channel: ch, Value: vals[k], Unit: "1",
					Time: base.Add(-time.Duration(k) * d.interval)})
			}
		}
	}
	return res, nil
}

// FieldNames lists every Value.Field the decoder can return (channel 1 is
// input A, 2 input B).
func (d *Decoder) FieldNames() []string {
	return []string{"lowBattery", "counterValues", "flowValues", "tamperAlarm", "leakageAlarm"}
}
