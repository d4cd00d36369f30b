// Package uplinkevent is the JSON wire format of the live uplink events a
// loraedge gateway publishes on <prefix>/<gateway>/device/<dev_eui>/uplink
// (package mqtt) and a central loraedge reads back (package mqttin, format
// "loraedge"). Both sides share it here, so the source does not depend on
// the sink.
package uplinkevent

import (
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Event is the payload on .../device/<dev_eui>/uplink: the reception
// metadata of one deduplicated uplink and, unless disabled, its decrypted
// payload, so that a central loraedge can decode it (mqttin format
// "loraedge").
type Event struct {
	Gateway   string    `json:"gateway"`
	DevEUI    string    `json:"dev_eui"`
	DevAddr   string    `json:"dev_addr,omitempty"`
	FCnt      uint32    `json:"f_cnt"`
	FPort     uint8     `json:"f_port"`
	Confirmed bool      `json:"confirmed"`
	ADR       bool      `json:"adr"`
	Data      []byte    `json:"data,omitempty"` // base64
	Frequency uint32    `json:"frequency,omitempty"`
	DataRate  string    `json:"data_rate,omitempty"`
	Time      time.Time `json:"time"`
	RxInfo    []Rx      `json:"rx_info"`
}

// Rx is one gateway's reception in an Event.
type Rx struct {
	GatewayID  string     `json:"gateway_id"`
	RSSI       int        `json:"rssi"`
	SNR        float64    `json:"snr"`
	Frequency  uint32     `json:"frequency,omitempty"`
	DataRate   string     `json:"data_rate,omitempty"`
	Channel    uint8      `json:"channel"`
	RFChain    uint8      `json:"rf_chain"`
	Time       *time.Time `json:"time,omitempty"` // GPS time
	ReceivedAt time.Time  `json:"received_at"`
}

// New describes up as heard by this gateway.
func New(up uplink.Uplink, gateway string, withPayload bool) Event {
	ev := Event{
		Gateway: gateway, DevEUI: up.DevEUI.String(), FCnt: up.FCnt, FPort: up.FPort,
		Confirmed: up.Confirmed, ADR: up.ADR, Frequency: up.Frequency, DataRate: up.DataRate,
		Time: up.Time.UTC(), RxInfo: make([]Rx, 0, len(up.RxInfo)),
	}
	if up.DevAddr != (lorawan.DevAddr{}) {
		ev.DevAddr = up.DevAddr.String()
	}
	if withPayload {
		ev.Data = up.Payload
	}
	for _, rx := range up.RxInfo {
		r := Rx{
			GatewayID: rx.GatewayID.String(), RSSI: rx.RSSI, SNR: rx.SNR, Frequency: rx.Frequency,
			DataRate: rx.DataRate, Channel: rx.Channel, RFChain: rx.RFChain, ReceivedAt: rx.ReceivedAt.UTC(),
		}
		if rx.Time != nil {
			t := rx.Time.UTC()
			r.Time = &t
		}
		ev.RxInfo = append(ev.RxInfo, r)
	}
	return ev
}

// Uplink turns the event back into a uplink.Uplink.
func (ev Event) Uplink() (uplink.Uplink, error) {
	var up uplink.Uplink
	if err := up.DevEUI.UnmarshalText([]byte(ev.DevEUI)); err != nil {
		return up, fmt.Errorf("dev_eui: %w", err)
	}
	if ev.DevAddr != "" {
		if err := up.DevAddr.UnmarshalText([]byte(ev.DevAddr)); err != nil {
			return up, fmt.Errorf("dev_addr: %w", err)
		}
	}
	if ev.Time.IsZero() {
		return up, errors.New("time: missing")
	}
	up.FCnt, up.FPort, up.Confirmed, up.ADR = ev.FCnt, ev.FPort, ev.Confirmed, ev.ADR
	up.Payload, up.Frequency, up.DataRate, up.Time = ev.Data, ev.Frequency, ev.DataRate, ev.Time
	for i, r := range ev.RxInfo {
		rx := uplink.RxInfo{RSSI: r.RSSI, SNR: r.SNR, Frequency: r.Frequency, DataRate: r.DataRate,
			Channel: r.Channel, RFChain: r.RFChain, Time: r.Time, ReceivedAt: r.ReceivedAt}
		if err := rx.GatewayID.UnmarshalText([]byte(r.GatewayID)); err != nil {
			return up, fmt.Errorf("rx_info[%d].gateway_id: %w", i, err)
		}
		up.RxInfo = append(up.RxInfo, rx)
	}
	return up, nil
}
