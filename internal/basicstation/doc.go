// Package basicstation is the LoRa Basics Station LNS protocol, a peer of
// semtechudp for gateways that reach the daemon across a network: the
// router-info discovery, the router's WebSocket over TLS with a client
// certificate or a per-router token, router_config from the band the
// network layer plans with, uplinks (updf, jreq, propdf) turned into the
// same frames GWMP yields, downlinks (dnmsg) scheduled by the router's
// xtime, dntxed confirmations and timesync.
package basicstation
