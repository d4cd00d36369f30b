package roaming

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"
)

// Protocol versions of the Backend Interfaces. loraedge sends 1.1, whose
// SenderNSID/ReceiverNSID tell apart instances that share the county
// NetID, and reads 1.0 from a peer that speaks only that.
const (
	ProtocolVersion10 = "1.0"
	ProtocolVersion11 = "1.1"
)

// Result codes of TS002 that loraedge sends or reads. 1.0 spelled two of
// them differently (UnkownReceiver, MalformedRequest); ResultCode picks
// the spelling of the peer's version and Result reads both.
const (
	ResultSuccess              backend.ResultCode = "Success"
	ResultMICFailed            backend.ResultCode = "MICFailed"
	ResultFrameReplayed        backend.ResultCode = "FrameReplayed" // 1.1
	ResultUnknownDevEUI        backend.ResultCode = "UnknownDevEUI"
	ResultUnknownDevAddr       backend.ResultCode = "UnknownDevAddr"
	ResultUnknownSender        backend.ResultCode = "UnknownSender"
	ResultUnknownReceiver      backend.ResultCode = "UnknownReceiver" // 1.1
	resultUnknownReceiver10    backend.ResultCode = "UnkownReceiver"  // 1.0, sic
	ResultDeferred             backend.ResultCode = "Deferred"
	ResultXmitFailed           backend.ResultCode = "XmitFailed"
	ResultInvalidProtocol      backend.ResultCode = "InvalidProtocolVersion"
	ResultMalformedMessage     backend.ResultCode = "MalformedMessage" // 1.1
	resultMalformedRequest10   backend.ResultCode = "MalformedRequest" // 1.0
	ResultFrameSizeError       backend.ResultCode = "FrameSizeError"
	ResultOther                backend.ResultCode = "Other"
	ResultNoRoamingAgreement   backend.ResultCode = "NoRoamingAgreement"
	ResultDevRoamingDisallowed backend.ResultCode = "DevRoamingDisallowed"
)

// ResultCode returns code as a peer of the given protocol version spells
// it; a 1.1-only code becomes Other for a 1.0 peer.
func ResultCode(version string, code backend.ResultCode) backend.ResultCode {
	if version != ProtocolVersion10 {
		return code
	}
	switch code {
	case ResultUnknownReceiver:
		return resultUnknownReceiver10
	case ResultMalformedMessage:
		return resultMalformedRequest10
	case ResultFrameReplayed:
		return ResultOther
	}
	return code
}

// NormalResult maps either version's spelling to the 1.1 one.
func NormalResult(code backend.ResultCode) backend.ResultCode {
	switch code {
	case resultUnknownReceiver10:
		return ResultUnknownReceiver
	case resultMalformedRequest10:
		return ResultMalformedMessage
	}
	return code
}

// NSIDs are the 1.1 header fields that name the network servers.
type NSIDs struct {
	SenderNSID   string `json:"SenderNSID,omitempty"`
	ReceiverNSID string `json:"ReceiverNSID,omitempty"`
}

// PRStartReq is the passive-roaming start request: a frame the forwarder
// heard, with the metadata of every gateway that heard it.
type PRStartReq struct {
	backend.PRStartReqPayload
	NSIDs
}

// PRStartAns answers a PRStartReq; for a join request it carries the
// join-accept and where to send it.
type PRStartAns struct {
	backend.PRStartAnsPayload
	NSIDs
}

// XmitDataReq asks the forwarder to transmit a downlink through one of its
// gateways.
type XmitDataReq struct {
	backend.XmitDataReqPayload
	NSIDs
}

// XmitDataAns tells the home whether the gateway took the downlink (its
// TX_ACK).
type XmitDataAns struct {
	backend.XmitDataAnsPayload
	NSIDs
}

// header is what Parse reads first to know what it has.
type header struct {
	ProtocolVersion string              `json:"ProtocolVersion"`
	SenderID        string              `json:"SenderID"`
	ReceiverID      string              `json:"ReceiverID"`
	TransactionID   *uint32             `json:"TransactionID"`
	MessageType     backend.MessageType `json:"MessageType"`
	NSIDs
}

// Limits of a message: a PHYPayload has at most 255 bytes (the radio's
// limit); no frame has more receptions than the county has gateways.
const (
	MaxMessageBytes = 64 << 10
	maxPHYPayload   = 255
	maxGWInfo       = 64
)

// ParseError is a message that could not be taken; Code is the result
// code to answer it with.
type ParseError struct {
	Code backend.ResultCode
	Msg  string
}

func (e *ParseError) Error() string { return string(e.Code) + ": " + e.Msg }

func malformed(format string, args ...any) error {
	return &ParseError{Code: ResultMalformedMessage, Msg: fmt.Sprintf(format, args...)}
}

// Message is one parsed Backend Interfaces message: *PRStartReq,
// *PRStartAns, *XmitDataReq or *XmitDataAns.
type Message interface {
	base() *backend.BasePayload
	nsids() *NSIDs
}

func (m *PRStartReq) base() *backend.BasePayload  { return &m.BasePayload }
func (m *PRStartAns) base() *backend.BasePayload  { return &m.BasePayload }
func (m *XmitDataReq) base() *backend.BasePayload { return &m.BasePayload }
func (m *XmitDataAns) base() *backend.BasePayload { return &m.BasePayload }
func (m *PRStartReq) nsids() *NSIDs               { return &m.NSIDs }
func (m *PRStartAns) nsids() *NSIDs               { return &m.NSIDs }
func (m *XmitDataReq) nsids() *NSIDs              { return &m.NSIDs }
func (m *XmitDataAns) nsids() *NSIDs              { return &m.NSIDs }

// Parse reads one message and checks what the roaming code relies on: a
// known protocol version and message type, the 1.1 NSIDs, a PHYPayload of
// radio size, numbers in range. Every failure is a *ParseError.
func Parse(data []byte) (Message, error) {
	if len(data) > MaxMessageBytes {
		return nil, malformed("message of %d bytes is over %d", len(data), MaxMessageBytes)
	}
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, malformed("%v", err)
	}
	switch h.ProtocolVersion {
	case ProtocolVersion10, ProtocolVersion11:
	default:
		return nil, &ParseError{Code: ResultInvalidProtocol, Msg: fmt.Sprintf("ProtocolVersion %q (1.0 or 1.1)", h.ProtocolVersion)}
	}
	if h.TransactionID == nil {
		return nil, malformed("TransactionID missing")
	}
	if h.ProtocolVersion == ProtocolVersion11 {
		if err := checkNSID("SenderNSID", h.SenderNSID); err != nil {
			return nil, err
		}
		if h.ReceiverNSID != "" {
			if err := checkNSID("ReceiverNSID", h.ReceiverNSID); err != nil {
				return nil, err
			}
		}
	}
	var m Message
	switch h.MessageType {
	case backend.PRStartReq:
		m = &PRStartReq{}
	case backend.PRStartAns:
		m = &PRStartAns{}
	case backend.XmitDataReq:
		m = &XmitDataReq{}
	case backend.XmitDataAns:
		m = &XmitDataAns{}
	default:
		return nil, malformed("MessageType %q is not handled", h.MessageType)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(m); err != nil {
		return nil, malformed("%s: %v", h.MessageType, err)
	}
	if err := check(m); err != nil {
		return nil, err
	}
	return m, nil
}

func checkNSID(field, s string) error {
	var e lorawan.EUI64
	if err := e.UnmarshalText([]byte(s)); err != nil {
		return malformed("%s %q is not an EUI-64", field, s)
	}
	return nil
}

func check(m Message) error {
	switch m := m.(type) {
	case *PRStartReq:
		if err := checkPHY(m.PHYPayload, true); err != nil {
			return err
		}
		return checkGWInfo(m.ULMetaData.GWInfo)
	case *PRStartAns:
		if err := checkPHY(m.PHYPayload, false); err != nil {
			return err
		}
		if m.DLMetaData != nil {
			return checkGWInfo(m.DLMetaData.GWInfo)
		}
	case *XmitDataReq:
		if err := checkPHY(m.PHYPayload, true); err != nil {
			return err
		}
		if m.DLMetaData == nil {
			return malformed("XmitDataReq without DLMetaData (loraedge forwards downlinks only)")
		}
		if len(m.DLMetaData.GWInfo) == 0 {
			return malformed("DLMetaData names no gateway")
		}
		return checkGWInfo(m.DLMetaData.GWInfo)
	}
	return nil
}

func checkPHY(p []byte, required bool) error {
	if len(p) > maxPHYPayload || required && len(p) == 0 {
		return &ParseError{Code: ResultFrameSizeError, Msg: fmt.Sprintf("PHYPayload of %d bytes (1..%d)", len(p), maxPHYPayload)}
	}
	return nil
}

func checkGWInfo(gws []backend.GWInfoElement) error {
	if len(gws) > maxGWInfo {
		return malformed("%d GWInfo elements (at most %d)", len(gws), maxGWInfo)
	}
	for i, g := range gws {
		if len(g.ULToken) > 256 {
			return malformed("GWInfo[%d].ULToken of %d bytes", i, len(g.ULToken))
		}
	}
	return nil
}

// ErrAnswer is wrapped by the error of a request whose answer is not
// Success.
var ErrAnswer = errors.New("roaming: peer answered")
