package adr

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// History is a device's recent uplinks, oldest first. The network writes
// it with the session on every uplink, so it encodes by hand and compactly,
// as [[f_cnt,dr,tx_power_index,snr],...]; the object form that reflection
// writes ({"f_cnt":..}) still decodes.
type History []Uplink

var errSNRNotFinite = errors.New("adr history: SNR is not a finite number")

// MarshalJSON writes the compact form.
func (h History) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2+len(h)*24)
	b = append(b, '[')
	for i, u := range h {
		if math.IsNaN(u.SNR) || math.IsInf(u.SNR, 0) {
			return nil, errSNRNotFinite
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(u.FCnt), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(u.DR), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(u.TXPowerIndex), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, u.SNR, 'g', -1, 64)
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads the compact form and the object form.
func (h *History) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*h = nil
		return nil
	}
	out := make(History, 0, len(raw))
	for _, r := range raw {
		var u Uplink
		if len(r) > 0 && r[0] == '[' {
			var v [4]float64
			if err := json.Unmarshal(r, &v); err != nil {
				return err
			}
			if v[0] < 0 || v[0] > math.MaxUint32 {
				return errors.New("adr history: frame counter out of range")
			}
			u = Uplink{FCnt: uint32(v[0]), DR: int(v[1]), TXPowerIndex: int(v[2]), SNR: v[3]}
		} else if err := json.Unmarshal(r, &u); err != nil {
			return err
		}
		out = append(out, u)
	}
	*h = out
	return nil
}
