// Package uplink is the vocabulary of verified uplinks: what the network
// layer produces, what the MQTT source imports from another network server
// and what the ingester and the MQTT sink consume. It imports no other
// loraedge package, so a source or a consumer of uplinks never depends on
// the LoRaWAN engine for its types.
package uplink

import (
	"context"
	"math"
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
	// MAC is the device status the frame's MAC commands reported
	// (DevStatusAns); nil when it carried none. A frame may carry it
	// without any application payload (FPort 0 or no FRMPayload).
	MAC *MACStatus
}

// MACStatus is a device's answer to the network's DevStatusReq.
type MACStatus struct {
	// Battery is the raw LoRaWAN level: 0 external power, 1..254 battery
	// level from empty to full, 255 not measurable.
	Battery uint8
	// Margin is the demodulation margin in dB (-32..31) of the
	// DevStatusReq as the device received it.
	Margin int
}

// BatteryPercent converts Battery to percent; ok is false for external
// power and an unmeasurable level.
func (m MACStatus) BatteryPercent() (pct float64, ok bool) {
	if m.Battery == 0 || m.Battery == 255 {
		return 0, false
	}
	return math.Round(float64(m.Battery-1)/253*1000) / 10, true
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

// DurableHandler is a Handler that can tell when an uplink's measurements
// are durable. The network layer acknowledges a confirmed uplink only after
// done(nil): an ACK then promises that what the uplink carried survives a
// crash. done is called at most once, from any goroutine, and must not
// block. An error returned by HandleUplinkDurable means the uplink is not
// known to be stored: the caller treats it as lost and ignores a done that
// may still come (a fan-out can return another handler's error). An uplink
// that yields nothing to store (no profile, undecodable payload) is durable
// at once, since a retransmission cannot change that.
type DurableHandler interface {
	Handler
	HandleUplinkDurable(ctx context.Context, up Uplink, done func(error)) error
}
