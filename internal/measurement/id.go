package measurement

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// MetaFCnt is the Meta key of the 32-bit frame counter (decimal) of the
// uplink a measurement was decoded from. The ingester sets it; ID reads it.
const MetaFCnt = "f_cnt"

// ID returns the measurement's stable id: 32 hex digits, the first 16 bytes
// of SHA-256 over "<device>|<f_cnt>|<quantity>|<channel>|<unix ns>". It is
// the same on every instance that computes it for the same reading (the
// device's home, a central loraedge fed over MQTT, a consumer recomputing
// it), unlike a local store sequence, so "drop duplicates by id" is safe
// across gateways. The frame counter tells apart readings that share a time
// (a device sending faster than its clock resolves); the time tells apart
// frames after a rejoin reset the counter and historical values of one frame.
// A measurement without MetaFCnt (imported, not from an uplink) hashes an
// empty counter.
func ID(m Measurement) string {
	b := make([]byte, 0, 96)
	b = append(b, m.Device...)
	b = append(b, '|')
	b = append(b, m.Meta[MetaFCnt]...)
	b = append(b, '|')
	b = append(b, m.Quantity...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(m.Channel), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, m.Time.UnixNano(), 10)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
