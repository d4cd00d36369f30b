// Package sim is the simulator: virtual packet forwarders and virtual
// LoRaWAN devices that play scenarios (a winter night on three road
// stations, a school day in classrooms, two days of building meters) on a
// virtual clock.
//
// Nothing is faked on the wire: gateways speak GWMP over UDP to the daemon
// (PULL_DATA keepalives, PUSH_DATA with one rxpk per reception, TX_ACK for
// every PULL_RESP), and devices build real LoRaWAN 1.0.x frames with
// github.com/brocaar/lorawan (OTAA join with AppKey, session keys, MIC,
// FRMPayload encryption, confirmed uplinks, application downlinks). The
// payloads are the vendors' real formats, so the daemon's decoders see what
// they would see from the field.
//
// The virtual clock runs Speed times faster than real time; rxpk.time
// carries the virtual time so the daemon dates measurements by it, while
// rxpk.tmst is a real microsecond counter per gateway so that the daemon's
// RX1/RX2 scheduling arithmetic stays consistent.
//
// GenerateYear skips the radio: it writes a year of meter readings of many
// buildings straight into a store, for energy reports. It draws on the same
// building-demand model (demand.go) as the building scenario's meters.
package sim
