// Package semtechudp implements the server side of the Semtech UDP packet
// forwarder protocol (GWMP), versions 1 and 2.
//
// A packet forwarder sends PUSH_DATA (uplinks in "rxpk" and statistics in
// "stat") and periodic PULL_DATA keepalives; the server answers them with
// PUSH_ACK and PULL_ACK carrying the same token and protocol version. Downlinks
// go out as PULL_RESP to the address the gateway's latest PULL_DATA came
// from: that is the only address known to pass the gateway's NAT, because the
// PULL_DATA keepalives are what keep the NAT mapping open. Version 2 gateways
// confirm every PULL_RESP with a TX_ACK that echoes its token.
//
// GWMP has no authentication, so the downlink address is pinned to the IP of
// the gateway's first PULL_DATA (a new port on that IP is followed): another
// IP takes it only after the pinned one has been silent for
// Config.PullMoveAfter and sent Config.PullMoveCount PULL_DATA in a row
// (acceptPullAddr). With a gateway list (Options.Gateways), datagrams from
// unlisted EUIs or from outside a gateway's AllowedFrom are refused, and
// listed gateways are not limited by MaxGateways.
//
// The packet types have MarshalBinary/UnmarshalBinary so that the simulator
// (internal/sim) speaks the same wire format as the server.
//
// Wire details worth knowing:
//   - The gateway MAC is carried as 8 bytes in transmission order, which is
//     the order of lorawan.EUI64 (no byte reversal, unlike EUI64.MarshalBinary).
//   - The random token is treated as a big-endian uint16. Gateways only echo the
//     two bytes, so the byte order is a local convention.
//   - PULL_RESP to a version 1 gateway carries token 0: version 1 defines the
//     token bytes as unused and has no TX_ACK.
//   - An rxpk whose "size" differs from the length of its decoded "data" makes
//     the whole datagram malformed (ErrSizeMismatch), since the forwarder
//     produced both from the same buffer and a mismatch means corruption.
//   - "data" is accepted with or without base64 padding, and a NUL or
//     whitespace after the JSON is ignored.
//
// Additions to the package contract: Unmarshal and the Packet interface
// (parse any datagram), Reason (error to metric label), ExpandedTime (the
// stat "time"), RXPK.FrequencyHz, TxAckEvent.Warn, Server.Gateway, and the
// options MaxGateways and TxAckTimeout, and Config.ReadBuffer. GatewayStatus.Addr is a
// netip.AddrPort. Frames() is closed when Run returns, so consumers can
// range over it. OnTxAck runs on the receive goroutine and must not block.
//
// Metrics (all counters, prefix loraedge_semtechudp_): datagrams_received_total
// {type}, datagrams_malformed_total{reason}, frames_received_total,
// frames_dropped_total, rxpk_ignored_total{reason=crc_bad|crc_missing},
// tx_acks_total{error}, tx_acks_unmatched_total, tx_acks_missing_total,
// downlinks_sent_total, send_errors_total, gateways_rejected_total,
// read_errors_total, datagrams_refused_total{reason=unlisted_gateway|
// source_not_allowed|pull_address_pinned|tx_ack_address}, gateway_moves_total.
package semtechudp
