// Package roaming makes several loraedge instances one county network. A
// peer table (one file, the same on every gateway) gives each instance its
// NSID, URL, DevAddr blocks and the devices it is home of; a DevAddr names
// its home, so a frame heard by a gateway that is not the device's home is
// forwarded there with LoRaWAN Backend Interfaces (TS002) passive roaming
// messages (PRStartReq/Ans, XmitDataReq/Ans) over HTTPS with mutual TLS or
// a per-peer bearer token. The message types are brocaar/lorawan/backend's,
// with the ProtocolVersion 1.1 SenderNSID/ReceiverNSID added, because
// instances sharing the county NetID are told apart only by their NSID.
package roaming
