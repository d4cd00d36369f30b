package semtechudp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// FieldError is an optional field left out of an otherwise good rxpk (or
// the stat object of a PUSH_DATA) because its value was malformed.
type FieldError struct {
	// Index is the rxpk's position in the datagram, -1 for the stat object.
	Index int
	Field string
	Err   error
}

func (e FieldError) Error() string {
	return fmt.Sprintf("rxpk %d: field %q dropped: %v", e.Index, e.Field, e.Err)
}

func (e FieldError) Unwrap() error { return e.Err }

// PushDataIssues is what ParsePushData left out of a PUSH_DATA.
type PushDataIssues struct {
	// Rejected holds one error per rxpk left out; Reason labels it
	// (bad_json, bad_base64, size_mismatch).
	Rejected []error
	// Dropped lists optional fields left out of forwarded rxpk.
	Dropped []FieldError
}

// rxpkField decodes one JSON field of an rxpk. A bad optional field is
// dropped and the rxpk kept; a bad essential one (what the radio frame, its
// downlink timing or its channel needs) rejects the rxpk.
type rxpkField struct {
	name     string
	optional bool
	decode   func(r *RXPK, v []byte) error
}

// field decodes into a fresh T and assigns only on success, so a dropped
// field leaves no half-decoded value behind.
func field[T any](name string, optional bool, dst func(*RXPK) *T) rxpkField {
	return rxpkField{name: name, optional: optional, decode: func(r *RXPK, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		*dst(r) = x
		return nil
	}}
}

// rxpkFields is the rxpk object as the Semtech forwarders (v1, v2, SX1302
// HAL) write it; other keys are ignored. Table: one line per field.
var rxpkFields = []rxpkField{
	field("tmst", false, func(r *RXPK) *uint32 { return &r.Tmst }),
	field("freq", false, func(r *RXPK) *float64 { return &r.Freq }),
	field("chan", false, func(r *RXPK) *uint8 { return &r.Chan }),
	field("rfch", false, func(r *RXPK) *uint8 { return &r.RFCh }),
	field("stat", false, func(r *RXPK) *int8 { return &r.Stat }),
	field("modu", false, func(r *RXPK) *string { return &r.Modu }),
	field("datr", false, func(r *RXPK) *DatR { return &r.DatR }),
	field("rssi", false, func(r *RXPK) *int16 { return &r.RSSI }),
	field("size", false, func(r *RXPK) *uint16 { return &r.Size }),
	{name: "data", decode: func(r *RXPK, v []byte) error {
		var s *string
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		d, err := decodeData(s)
		if err != nil {
			return err
		}
		r.Data = d
		return nil
	}},
	field("time", true, func(r *RXPK) **CompactTime { return &r.Time }),
	field("tmms", true, func(r *RXPK) **int64 { return &r.Tmms }),
	field("codr", true, func(r *RXPK) *string { return &r.CodR }),
	field("lsnr", true, func(r *RXPK) *float64 { return &r.LSNR }),
	field("brd", true, func(r *RXPK) **uint8 { return &r.Brd }),
	field("rssis", true, func(r *RXPK) **int16 { return &r.RSSIS }),
	field("foff", true, func(r *RXPK) **int32 { return &r.FOff }),
	field("rsig", true, func(r *RXPK) *[]RSig { return &r.RSig }),
}

// droppableFields are the labels of loraedge_semtechudp_fields_dropped_total.
func droppableFields() []string {
	out := []string{"stat_object"}
	for _, f := range rxpkFields {
		if f.optional {
			out = append(out, f.name)
		}
	}
	return out
}

// decodeRXPK decodes one rxpk field by field. The error (wrapping ErrJSON,
// ErrBase64 or ErrSizeMismatch) rejects the rxpk; dropped lists the
// optional fields left out (their Index is not set).
func decodeRXPK(b []byte) (RXPK, []FieldError, error) {
	// Fast path: a well-formed rxpk decodes in one pass, at a third of the
	// allocations of the field-by-field decoding below.
	type plain RXPK
	var v struct {
		plain
		Data *string `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err == nil {
		r := RXPK(v.plain)
		d, err := decodeData(v.Data)
		if err != nil {
			return RXPK{}, nil, fmt.Errorf("rxpk data: %w", err)
		}
		r.Data = d
		if int(r.Size) != len(d) {
			return RXPK{}, nil, fmt.Errorf("rxpk: size %d, data %d bytes: %w", r.Size, len(d), ErrSizeMismatch)
		}
		return r, nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return RXPK{}, nil, fmt.Errorf("rxpk: %w: %w", ErrJSON, err)
	}
	var r RXPK
	var dropped []FieldError
	for _, f := range rxpkFields {
		v, ok := raw[f.name]
		if !ok || bytes.Equal(v, []byte("null")) {
			continue
		}
		err := f.decode(&r, v)
		switch {
		case err == nil:
		case f.optional:
			dropped = append(dropped, FieldError{Field: f.name, Err: err})
		case errors.Is(err, ErrBase64):
			return RXPK{}, dropped, fmt.Errorf("rxpk %s: %w", f.name, err)
		default:
			return RXPK{}, dropped, fmt.Errorf("rxpk %s: %w: %w", f.name, ErrJSON, err)
		}
	}
	if int(r.Size) != len(r.Data) {
		return RXPK{}, dropped, fmt.Errorf("rxpk: size %d, data %d bytes: %w", r.Size, len(r.Data), ErrSizeMismatch)
	}
	return r, dropped, nil
}

// ParsePushData parses a PUSH_DATA leniently, for the server: every rxpk is
// decoded on its own, so one bad rxpk or field costs only itself. The error
// is a header error (no ACK is due), or a payload that is not a PUSH_DATA
// JSON object at all (wrapping ErrJSON; the header is valid and p holds it).
func ParsePushData(b []byte) (p PushDataPacket, issues PushDataIssues, err error) {
	v, tok, err := parseHeader(b, PushData, headerMACLen+1)
	if err != nil {
		return p, issues, err
	}
	p.ProtocolVersion, p.RandomToken = v, tok
	copy(p.GatewayMAC[:], b[4:12])
	var raw struct {
		RXPK []json.RawMessage `json:"rxpk"`
		Stat json.RawMessage   `json:"stat"`
	}
	// Tolerate a C string terminator some forwarders send after the JSON.
	if err := json.Unmarshal(trimTrailing(b[headerMACLen:]), &raw); err != nil {
		return p, issues, fmt.Errorf("parse PUSH_DATA: %w: %w", ErrJSON, err)
	}
	for i, js := range raw.RXPK {
		r, dropped, err := decodeRXPK(js)
		for _, d := range dropped {
			d.Index = i
			issues.Dropped = append(issues.Dropped, d)
		}
		if err != nil {
			issues.Rejected = append(issues.Rejected, fmt.Errorf("parse PUSH_DATA: rxpk %d: %w", i, err))
			continue
		}
		p.Payload.RXPK = append(p.Payload.RXPK, r)
	}
	if len(raw.Stat) > 0 && !bytes.Equal(raw.Stat, []byte("null")) {
		var st Stat
		if err := json.Unmarshal(raw.Stat, &st); err != nil {
			issues.Dropped = append(issues.Dropped, FieldError{Index: -1, Field: "stat_object", Err: err})
		} else {
			p.Payload.Stat = &st
		}
	}
	return p, issues, nil
}
