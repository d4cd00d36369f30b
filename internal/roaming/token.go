package roaming

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/brocaar/lorawan"
)

// ulToken is what a forwarder puts in GWInfo.ULToken so that it can
// transmit the home's answer later without keeping state: the gateway, its
// concentrator counter at the reception and when that was. The home treats
// it as opaque, as TS002 asks.
type ulToken struct {
	gateway lorawan.EUI64
	tmst    uint32
	at      time.Time
}

const ulTokenLen = 8 + 4 + 8

func (t ulToken) marshal() []byte {
	b := make([]byte, 0, ulTokenLen)
	b = append(b, t.gateway[:]...)
	b = binary.BigEndian.AppendUint32(b, t.tmst)
	return binary.BigEndian.AppendUint64(b, uint64(t.at.UnixMilli()))
}

var errULToken = errors.New("ULToken is not one of this instance's")

func parseULToken(b []byte) (ulToken, error) {
	if len(b) != ulTokenLen {
		return ulToken{}, errULToken
	}
	var t ulToken
	copy(t.gateway[:], b[:8])
	t.tmst = binary.BigEndian.Uint32(b[8:12])
	t.at = time.UnixMilli(int64(binary.BigEndian.Uint64(b[12:])))
	return t, nil
}

// euDataRates are the EU868 LoRa data rates by index (RP002): TS002 names
// a data rate by its index, the packet forwarder by its name.
var euDataRates = []string{"SF12BW125", "SF11BW125", "SF10BW125", "SF9BW125", "SF8BW125", "SF7BW125", "SF7BW250"}

func dataRateIndex(name string) (int, bool) {
	for i, n := range euDataRates {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

func dataRateName(i int) (string, bool) {
	if i < 0 || i >= len(euDataRates) {
		return "", false
	}
	return euDataRates[i], true
}
