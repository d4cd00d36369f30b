package semtechudp

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brocaar/lorawan"
)

// PacketType is the GWMP packet identifier, the fourth byte of every datagram.
type PacketType byte

// GWMP packet identifiers.
const (
	PushData PacketType = 0x00
	PushAck  PacketType = 0x01
	PullData PacketType = 0x02
	PullResp PacketType = 0x03
	PullAck  PacketType = 0x04
	TxAck    PacketType = 0x05
)

// Protocol versions understood by this package.
const (
	ProtocolVersion1 uint8 = 0x01
	ProtocolVersion2 uint8 = 0x02
)

// String returns the protocol name of the packet type, e.g. "PUSH_DATA".
func (t PacketType) String() string {
	switch t {
	case PushData:
		return "PUSH_DATA"
	case PushAck:
		return "PUSH_ACK"
	case PullData:
		return "PULL_DATA"
	case PullResp:
		return "PULL_RESP"
	case PullAck:
		return "PULL_ACK"
	case TxAck:
		return "TX_ACK"
	}
	return fmt.Sprintf("UNKNOWN(0x%02x)", byte(t))
}

// Errors returned by the parsers. They are wrapped with context; test them
// with errors.Is. The server uses them as the "reason" label of its
// malformed-datagram counter (see Reason).
var (
	ErrShort          = errors.New("datagram too short")
	ErrVersion        = errors.New("unknown protocol version")
	ErrPacketType     = errors.New("unknown packet type")
	ErrWrongType      = errors.New("wrong packet type for this parser")
	ErrJSON           = errors.New("invalid JSON payload")
	ErrBase64         = errors.New("invalid base64 data")
	ErrSizeMismatch   = errors.New("size does not match data length")
	ErrGatewayUnknown = errors.New("gateway unknown or never sent PULL_DATA")
)

// Reason maps a parser error to a short, stable label for metrics and logs.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrShort):
		return "short"
	case errors.Is(err, ErrVersion):
		return "unknown_version"
	case errors.Is(err, ErrPacketType):
		return "unknown_type"
	case errors.Is(err, ErrWrongType):
		return "wrong_type"
	case errors.Is(err, ErrBase64):
		return "bad_base64"
	case errors.Is(err, ErrSizeMismatch):
		return "size_mismatch"
	case errors.Is(err, ErrJSON):
		return "bad_json"
	}
	return "other"
}

const (
	headerLen    = 4 // version, token (2), identifier
	headerMACLen = 12
)

// Packet is implemented by the pointer of every packet type.
type Packet interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
	Type() PacketType
}

var (
	_ Packet = (*PushDataPacket)(nil)
	_ Packet = (*PushAckPacket)(nil)
	_ Packet = (*PullDataPacket)(nil)
	_ Packet = (*PullAckPacket)(nil)
	_ Packet = (*PullRespPacket)(nil)
	_ Packet = (*TxAckPacket)(nil)
)

// ParsePacketType checks the fixed header (length, version, identifier) and
// returns the packet type.
func ParsePacketType(b []byte) (PacketType, error) {
	if len(b) < headerLen {
		return 0, fmt.Errorf("parse header: %d bytes: %w", len(b), ErrShort)
	}
	if b[0] != ProtocolVersion1 && b[0] != ProtocolVersion2 {
		return 0, fmt.Errorf("parse header: version 0x%02x: %w", b[0], ErrVersion)
	}
	t := PacketType(b[3])
	if t > TxAck {
		return 0, fmt.Errorf("parse header: identifier 0x%02x: %w", b[3], ErrPacketType)
	}
	return t, nil
}

// Unmarshal parses any GWMP datagram into the matching packet type.
func Unmarshal(b []byte) (Packet, error) {
	t, err := ParsePacketType(b)
	if err != nil {
		return nil, err
	}
	var p Packet
	switch t {
	case PushData:
		p = &PushDataPacket{}
	case PushAck:
		p = &PushAckPacket{}
	case PullData:
		p = &PullDataPacket{}
	case PullResp:
		p = &PullRespPacket{}
	case PullAck:
		p = &PullAckPacket{}
	default:
		p = &TxAckPacket{}
	}
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return p, nil
}

func checkVersion(v uint8) error {
	if v != ProtocolVersion1 && v != ProtocolVersion2 {
		return fmt.Errorf("version 0x%02x: %w", v, ErrVersion)
	}
	return nil
}

// appendHeader writes version, token and identifier.
func appendHeader(b []byte, v uint8, token uint16, t PacketType) []byte {
	b = append(b, v)
	b = binary.BigEndian.AppendUint16(b, token)
	return append(b, byte(t))
}

// parseHeader checks a datagram against the expected type and minimum length.
func parseHeader(b []byte, want PacketType, minLen int) (uint8, uint16, error) {
	t, err := ParsePacketType(b)
	if err != nil {
		return 0, 0, err
	}
	if t != want {
		return 0, 0, fmt.Errorf("parse %s: got %s: %w", want, t, ErrWrongType)
	}
	if len(b) < minLen {
		return 0, 0, fmt.Errorf("parse %s: %d bytes, need %d: %w", want, len(b), minLen, ErrShort)
	}
	return b[0], binary.BigEndian.Uint16(b[1:3]), nil
}

func unmarshalJSON(t PacketType, b []byte, v any) error {
	// Tolerate a C string terminator some forwarders send after the JSON.
	if err := json.Unmarshal(trimTrailing(b), v); err != nil {
		// RXPK/TXPK report base64 and size problems with their own
		// sentinels; keep those distinguishable from syntax errors.
		if errors.Is(err, ErrBase64) || errors.Is(err, ErrSizeMismatch) {
			return fmt.Errorf("parse %s: %w", t, err)
		}
		return fmt.Errorf("parse %s: %w: %w", t, ErrJSON, err)
	}
	return nil
}

// PushDataPacket carries uplinks and statistics from a gateway.
type PushDataPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
	GatewayMAC      lorawan.EUI64
	Payload         PushDataPayload
}

// PushDataPayload is the JSON object of a PUSH_DATA.
type PushDataPayload struct {
	RXPK []RXPK `json:"rxpk,omitempty"`
	Stat *Stat  `json:"stat,omitempty"`
}

// Type returns PushData.
func (p *PushDataPacket) Type() PacketType { return PushData }

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PushDataPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal PUSH_DATA: %w", err)
	}
	j, err := json.Marshal(p.Payload)
	if err != nil {
		return nil, fmt.Errorf("marshal PUSH_DATA: %w", err)
	}
	b := make([]byte, 0, headerMACLen+len(j))
	b = appendHeader(b, p.ProtocolVersion, p.RandomToken, PushData)
	b = append(b, p.GatewayMAC[:]...)
	return append(b, j...), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It is strict:
// any bad rxpk or field is an error (the first one found); the server uses
// ParsePushData, which keeps the good rest.
func (p *PushDataPacket) UnmarshalBinary(b []byte) error {
	pp, issues, err := ParsePushData(b)
	switch {
	case err != nil:
		return err
	case len(issues.Rejected) > 0:
		return issues.Rejected[0]
	case len(issues.Dropped) > 0:
		return fmt.Errorf("parse PUSH_DATA: %w: %w", ErrJSON, issues.Dropped[0])
	}
	*p = pp
	return nil
}

// PushAckPacket acknowledges a PUSH_DATA.
type PushAckPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
}

// Type returns PushAck.
func (p *PushAckPacket) Type() PacketType { return PushAck }

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PushAckPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal PUSH_ACK: %w", err)
	}
	return appendHeader(make([]byte, 0, headerLen), p.ProtocolVersion, p.RandomToken, PushAck), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PushAckPacket) UnmarshalBinary(b []byte) error {
	v, tok, err := parseHeader(b, PushAck, headerLen)
	if err != nil {
		return err
	}
	p.ProtocolVersion, p.RandomToken = v, tok
	return nil
}

// PullDataPacket is the gateway's keepalive that opens the downlink path.
type PullDataPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
	GatewayMAC      lorawan.EUI64
}

// Type returns PullData.
func (p *PullDataPacket) Type() PacketType { return PullData }

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PullDataPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal PULL_DATA: %w", err)
	}
	b := appendHeader(make([]byte, 0, headerMACLen), p.ProtocolVersion, p.RandomToken, PullData)
	return append(b, p.GatewayMAC[:]...), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PullDataPacket) UnmarshalBinary(b []byte) error {
	v, tok, err := parseHeader(b, PullData, headerMACLen)
	if err != nil {
		return err
	}
	p.ProtocolVersion, p.RandomToken = v, tok
	copy(p.GatewayMAC[:], b[4:12])
	return nil
}

// PullAckPacket acknowledges a PULL_DATA.
type PullAckPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
}

// Type returns PullAck.
func (p *PullAckPacket) Type() PacketType { return PullAck }

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PullAckPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal PULL_ACK: %w", err)
	}
	return appendHeader(make([]byte, 0, headerLen), p.ProtocolVersion, p.RandomToken, PullAck), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PullAckPacket) UnmarshalBinary(b []byte) error {
	v, tok, err := parseHeader(b, PullAck, headerLen)
	if err != nil {
		return err
	}
	p.ProtocolVersion, p.RandomToken = v, tok
	return nil
}

// PullRespPacket carries one downlink to a gateway. Version 1 gateways
// ignore the token; it is 0 there.
type PullRespPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
	Payload         PullRespPayload
}

// PullRespPayload is the JSON object of a PULL_RESP.
type PullRespPayload struct {
	TXPK TXPK `json:"txpk"`
}

// Type returns PullResp.
func (p *PullRespPacket) Type() PacketType { return PullResp }

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PullRespPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal PULL_RESP: %w", err)
	}
	j, err := json.Marshal(p.Payload)
	if err != nil {
		return nil, fmt.Errorf("marshal PULL_RESP: %w", err)
	}
	b := appendHeader(make([]byte, 0, headerLen+len(j)), p.ProtocolVersion, p.RandomToken, PullResp)
	return append(b, j...), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PullRespPacket) UnmarshalBinary(b []byte) error {
	v, tok, err := parseHeader(b, PullResp, headerLen+1)
	if err != nil {
		return err
	}
	var pl PullRespPayload
	if err := unmarshalJSON(PullResp, b[headerLen:], &pl); err != nil {
		return err
	}
	p.ProtocolVersion, p.RandomToken, p.Payload = v, tok, pl
	return nil
}

// TxAckPacket is the gateway's answer to a PULL_RESP. A nil Payload (no JSON
// after the header, as some version 1 forwarders send) means success.
type TxAckPacket struct {
	ProtocolVersion uint8
	RandomToken     uint16
	GatewayMAC      lorawan.EUI64
	Payload         *TxAckPayload
}

// TxAckPayload is the JSON object of a TX_ACK.
type TxAckPayload struct {
	TXPKACK TXPKACK `json:"txpk_ack"`
}

// TXPKACK reports the fate of one downlink. Error is empty or "NONE" on
// success; Warn (newer forwarders) reports an adjustment such as TX_POWER.
type TXPKACK struct {
	Error string `json:"error,omitempty"`
	Warn  string `json:"warn,omitempty"`
	Value *int   `json:"value,omitempty"`
}

// Type returns TxAck.
func (p *TxAckPacket) Type() PacketType { return TxAck }

// Err returns nil when the downlink was accepted, else a TxAckError.
func (p *TxAckPacket) Err() error {
	if p.Payload == nil {
		return nil
	}
	return TxAckErr(p.Payload.TXPKACK.Error)
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *TxAckPacket) MarshalBinary() ([]byte, error) {
	if err := checkVersion(p.ProtocolVersion); err != nil {
		return nil, fmt.Errorf("marshal TX_ACK: %w", err)
	}
	var j []byte
	if p.Payload != nil {
		var err error
		if j, err = json.Marshal(p.Payload); err != nil {
			return nil, fmt.Errorf("marshal TX_ACK: %w", err)
		}
	}
	b := appendHeader(make([]byte, 0, headerMACLen+len(j)), p.ProtocolVersion, p.RandomToken, TxAck)
	b = append(b, p.GatewayMAC[:]...)
	return append(b, j...), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *TxAckPacket) UnmarshalBinary(b []byte) error {
	v, tok, err := parseHeader(b, TxAck, headerMACLen)
	if err != nil {
		return err
	}
	var pl *TxAckPayload
	// Some forwarders terminate the JSON with a NUL byte; a TX_ACK with
	// nothing but NULs or whitespace after the MAC is a bare success.
	if rest := trimTrailing(b[headerMACLen:]); len(rest) > 0 {
		pl = &TxAckPayload{}
		if err := unmarshalJSON(TxAck, rest, pl); err != nil {
			return err
		}
	}
	p.ProtocolVersion, p.RandomToken, p.Payload = v, tok, pl
	copy(p.GatewayMAC[:], b[4:12])
	return nil
}

func trimTrailing(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case 0, ' ', '\t', '\r', '\n':
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}
