// Package paxcounter decodes the open-source ESP32-Paxcounter: an ESP32
// board that counts the Wi-Fi and Bluetooth devices around it as an
// estimate of the people present.
//
// The firmware has two binary payload encoders with the same fields: packed
// (the default, little-endian) and plain (big-endian). The bytes do not say
// which one a device runs, so it is a codec option.
package paxcounter

import (
	"encoding/binary"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id.
const ID = "paxcounter"

// Encoders the firmware can be built with (PAYLOAD_ENCODER 2 and 1).
const (
	EncoderPacked = "packed"
	EncoderPlain  = "plain"
)

// Ports of the firmware (paxcounter.conf).
const (
	portCount   = 1
	portStatus  = 2
	portBattery = 8
)

// otherPorts are the firmware's ports whose data are no measurement here.
var otherPorts = map[uint8]string{3: "configuration", 4: "GPS", 5: "button", 6: "beacon alarm", 7: "environment sensor", 9: "time"}

// Channels of the two counts, so that both can be people_count series.
const (
	ChannelWifi = 1
	ChannelBLE  = 2
)

const (
	gpsLen    = 13 // latitude, longitude (int32), satellites, HDOP, altitude
	statusLen = 17 // voltage, uptime (u64), CPU temperature, free memory (u32), two reset reasons
)

// Options of the codec.
type Options struct {
	// Encoder is "packed" (default) or "plain".
	Encoder string `json:"encoder"`
}

// Decoder decodes one encoder's payloads; safe for concurrent use.
type Decoder struct {
	order binary.ByteOrder
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder.
func New(options map[string]any) (codec.Decoder, error) {
	o := Options{Encoder: EncoderPacked}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	switch o.Encoder {
	case EncoderPacked:
		return &Decoder{order: binary.LittleEndian}, nil
	case EncoderPlain:
		return &Decoder{order: binary.BigEndian}, nil
	}
	return nil, fmt.Errorf("options: encoder must be %q or %q, got %q", EncoderPacked, EncoderPlain, o.Encoder)
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	res := codec.Result{Fields: map[string]any{}}
	switch in.FPort {
	case portCount:
		return d.counts(res, b)
	case portStatus:
		if len(b) != statusLen {
			return codec.Result{}, d.lenErr("device status", len(b), statusLen)
		}
		mv := d.order.Uint16(b)
		res.Fields["voltage"] = float64(mv)
		res.Fields["uptime"] = float64(d.order.Uint64(b[2:]))
		res.Fields["cputemp"] = float64(b[10])
		res.Fields["memory"] = float64(d.order.Uint32(b[11:]))
		res.Fields["reset0"], res.Fields["reset1"] = float64(b[15]), float64(b[16])
		d.battery(&res, mv)
		return res, nil
	case portBattery:
		if len(b) != 2 {
			return codec.Result{}, d.lenErr("battery voltage", len(b), 2)
		}
		mv := d.order.Uint16(b)
		res.Fields["voltage"] = float64(mv)
		d.battery(&res, mv)
		return res, nil
	}
	if what, ok := otherPorts[in.FPort]; ok {
		res.Warnings = append(res.Warnings, fmt.Sprintf("fPort %d (%s) not decoded", in.FPort, what))
		return res, nil
	}
	return codec.Result{}, fmt.Errorf("%w: %d, the paxcounter sends counts on 1", codec.ErrFPort, in.FPort)
}

// counts decodes port 1: the Wi-Fi count, the Bluetooth count unless
// Bluetooth scanning is off, and a GPS fix if the board has one.
func (d *Decoder) counts(res codec.Result, b []byte) (codec.Result, error) {
	n := len(b)
	switch n {
	case 2, 4, 2 + gpsLen, 4 + gpsLen:
	default:
		return codec.Result{}, fmt.Errorf("%w: count frame of %d bytes, want 2, 4, 15 or 17", codec.ErrFormat, n)
	}
	wifi := float64(d.order.Uint16(b))
	res.Fields["wifi"] = wifi
	res.Values = append(res.Values, codec.Value{Field: "wifi", Value: wifi, Unit: "1", Channel: ChannelWifi})
	pos := 2
	if n == 4 || n == 4+gpsLen {
		ble := float64(d.order.Uint16(b[2:]))
		res.Fields["ble"] = ble
		res.Values = append(res.Values, codec.Value{Field: "ble", Value: ble, Unit: "1", Channel: ChannelBLE})
		pos = 4
	}
	if n-pos == gpsLen {
		g := b[pos:]
		res.Fields["latitude"] = float64(int32(d.order.Uint32(g))) / 1e6
		res.Fields["longitude"] = float64(int32(d.order.Uint32(g[4:]))) / 1e6
		res.Fields["sats"] = float64(g[8])
		res.Fields["hdop"] = float64(d.order.Uint16(g[9:])) / 100
		res.Fields["altitude"] = float64(int16(d.order.Uint16(g[11:])))
	}
	return res, nil
}

// battery adds the board voltage; 0 means the board has no battery probe.
func (d *Decoder) battery(res *codec.Result, mv uint16) {
	if mv == 0 {
		return
	}
	res.Values = append(res.Values, codec.Value{Field: "battery_voltage", Value: float64(mv) / 1000, Unit: "V"})
}

func (d *Decoder) lenErr(what string, got, want int) error {
	if got < want {
		return fmt.Errorf("%w: %s of %d bytes, want %d", codec.ErrTruncated, what, got, want)
	}
	return fmt.Errorf("%w: %s of %d bytes, want %d", codec.ErrFormat, what, got, want)
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	return []string{"wifi", "ble", "battery_voltage"}
}
