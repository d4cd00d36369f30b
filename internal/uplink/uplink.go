// Package uplink is the vocabulary of verified uplinks: what the network
// layer produces, what the MQTT source imports from another network server
// and what the ingester and the MQTT sink consume. It imports no other
// loraedge package, so a source or a consumer of uplinks never depends on
// the LoRaWAN engine for its types.
package uplink

import (
	"context"
	"time"

	"github.com/brocaar/lorawan"
)

// RxInfo is the reception of a frame at one gateway.
type RxInfo struct {
	GatewayID lorawan.EUI64
	RSSI      int
	SNR       float64
	Frequency uint32 // Hz
	DataRate  string // e.g. "SF7BW125"
	// Tmst is the concentrator counter in microseconds; RX1/RX2 are timed from it.
	Tmst uint32
	// Time is the GPS time of the reception when the gateway has it.
	Time       *time.Time
	ReceivedAt time.Time
	Channel    uint8
	RFChain    uint8
}

// Uplink is a verified, deduplicated and decrypted data frame.
type Uplink struct {
	DevEUI    lorawan.EUI64
	DevAddr   lorawan.DevAddr
	FPort     uint8
	FCnt      uint32
	Confirmed bool
	ADR       bool
	Payload   []byte   // decrypted FRMPayload
	RxInfo    []RxInfo // every gateway, best SNR first
	Frequency uint32
	DataRate  string
	// Time is the GPS time of the best reception that has one, else the
	// first ReceivedAt.
	Time time.Time
}

// Handler receives verified uplinks; the daemon wires the network layer
// and the MQTT source to the ingester and the MQTT sink through it.
type Handler interface {
	HandleUplink(ctx context.Context, up Uplink) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, up Uplink) error

// HandleUplink calls f.
func (f HandlerFunc) HandleUplink(ctx context.Context, up Uplink) error { return f(ctx, up) }

var _ Handler = HandlerFunc(nil)
