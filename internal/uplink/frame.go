package uplink

import (
	"time"

	"github.com/brocaar/lorawan"
)

// Frame directions.
const (
	Up   = "up"
	Down = "down"
)

// Frame results, as the frame log shows them. The network layer reports
// the first; the ingester replaces Accepted with what became of the
// payload.
const (
	ResultAccepted       = "accepted" // verified and handed on
	ResultStored         = "stored"
	ResultNoPayload      = "no_payload" // nothing to decode (no profile, MAC only)
	ResultDecodeError    = "decode_error"
	ResultStoreError     = "store_error"
	ResultDuplicate      = "duplicate" // a retransmission of a frame already handled
	ResultMICInvalid     = "mic_invalid"
	ResultReplay         = "replay"
	ResultFCntGap        = "fcnt_gap"
	ResultUnknownDevAddr = "unknown_devaddr"
	ResultJoinAccepted   = "join_accepted"
	ResultJoinRejected   = "join_rejected"
	ResultDropped        = "dropped"
	ResultSent           = "sent" // a downlink handed to its gateway
	// ResultForwarded is a frame of a device homed at a peer of the county
	// network, sent there; Reason names the peer and its answer.
	ResultForwarded = "forwarded"
)

// FrameGateway is one gateway's reception of a frame, or the gateway a
// downlink went through (no RSSI or SNR then).
type FrameGateway struct {
	ID   string  `json:"id"`
	RSSI int     `json:"rssi,omitempty"`
	SNR  float64 `json:"snr,omitempty"`
	// Peer names the county network peer whose gateway this is (empty for
	// this instance's own gateways).
	Peer string `json:"peer,omitempty"`
}

// FrameEvent is one frame as an installer looks at it: when, through which
// gateways at what signal, its header, and what became of it and why.
type FrameEvent struct {
	// Seq is set by the frame log: increasing, unique per daemon run.
	Seq       uint64         `json:"seq"`
	Time      time.Time      `json:"time"`
	Direction string         `json:"direction"`
	DevEUI    string         `json:"dev_eui,omitempty"`
	DevAddr   string         `json:"dev_addr,omitempty"`
	Gateways  []FrameGateway `json:"gateways"`
	DataRate  string         `json:"data_rate,omitempty"`
	Frequency uint32         `json:"frequency,omitempty"` // Hz
	MType     string         `json:"m_type"`
	FCnt      *uint32        `json:"f_cnt,omitempty"`
	FPort     *uint8         `json:"f_port,omitempty"`
	Size      int            `json:"size"`
	Result    string         `json:"result"`
	Reason    string         `json:"reason,omitempty"`
	// DownlinkID names a downlink transmission; TxAck is its gateway's
	// answer ("ok" or the error), empty while none came.
	DownlinkID uint64 `json:"downlink_id,omitempty"`
	TxAck      string `json:"tx_ack,omitempty"`
}

// ReadHeader fills MType, and DevAddr, FCnt (as on air, 16 bits) and FPort
// of a data frame, from the PHYPayload phy; a frame that does not parse
// leaves them empty.
func (ev *FrameEvent) ReadHeader(phy []byte) {
	var p lorawan.PHYPayload
	if err := p.UnmarshalBinary(phy); err != nil {
		return
	}
	ev.MType = p.MHDR.MType.String()
	if mac, ok := p.MACPayload.(*lorawan.MACPayload); ok {
		fcnt := mac.FHDR.FCnt
		ev.DevAddr, ev.FCnt, ev.FPort = mac.FHDR.DevAddr.String(), &fcnt, mac.FPort
	}
}
