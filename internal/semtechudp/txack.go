package semtechudp

// TxAckError is a TX_ACK error code reported by a gateway. It is an error
// value comparable with errors.Is against the constants below.
type TxAckError string

// TX_ACK error codes (PROTOCOL.TXT v2, section 5.5).
const (
	ErrTxTooLate         TxAckError = "TOO_LATE"         // packet arrived after its tmst
	ErrTxTooEarly        TxAckError = "TOO_EARLY"        // tmst too far in the future
	ErrTxCollisionPacket TxAckError = "COLLISION_PACKET" // another packet already scheduled then
	ErrTxCollisionBeacon TxAckError = "COLLISION_BEACON" // a class B beacon is scheduled then
	ErrTxFreq            TxAckError = "TX_FREQ"          // frequency not supported by the radio
	ErrTxPower           TxAckError = "TX_POWER"         // power not supported
	ErrTxGPSUnlocked     TxAckError = "GPS_UNLOCKED"     // tmms requested but no GPS lock
)

// TxAckNone is the error field of a successful TX_ACK.
const TxAckNone = "NONE"

// Error implements error.
func (e TxAckError) Error() string { return "tx ack: " + string(e) }

// Code returns the protocol string, e.g. "TOO_LATE".
func (e TxAckError) Code() string { return string(e) }

// TxAckErr turns a TX_ACK error field into an error: nil for "" and "NONE",
// else a TxAckError (unknown codes keep their text).
func TxAckErr(code string) error {
	if code == "" || code == TxAckNone {
		return nil
	}
	return TxAckError(code)
}
