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
// Devices obey the LoRaWAN 1.0.x MAC commands of EU868 class A devices
// (radio.go): LinkADRReq, DevStatusReq, NewChannelReq, RXParamSetupReq,
// RXTimingSetupReq, DutyCycleReq, with the ADR bit and the ADR_ACK back-off
// in their uplinks. Gateways hear them through a link model (link.go): a
// mean SNR per device and gateway, Gaussian fading, 2 dB per TX power step
// and the demodulation floor of each data rate. NewField builds the 40
// device field of the MAC-layer issue for end-to-end tests.
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
