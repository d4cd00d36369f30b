package semtechudp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// RXPK is one received packet as reported in a PUSH_DATA.
type RXPK struct {
	Time  *CompactTime `json:"time,omitempty"` // GPS-synchronised UTC receive time, if the gateway has GPS
	Tmms  *int64       `json:"tmms,omitempty"` // GPS time in ms since the GPS epoch
	Tmst  uint32       `json:"tmst"`           // concentrator counter, us
	Freq  float64      `json:"freq"`           // MHz
	Chan  uint8        `json:"chan"`
	RFCh  uint8        `json:"rfch"`
	Stat  int8         `json:"stat"` // CRC: 1 OK, -1 bad, 0 no CRC
	Modu  string       `json:"modu"` // "LORA" or "FSK"
	DatR  DatR         `json:"datr"`
	CodR  string       `json:"codr,omitempty"`
	RSSI  int16        `json:"rssi"`
	LSNR  float64      `json:"lsnr"`
	Size  uint16       `json:"size"`
	Data  []byte       `json:"data"`
	Brd   *uint8       `json:"brd,omitempty"`   // v2 / SX1302: board
	RSSIS *int16       `json:"rssis,omitempty"` // SX1302: signal RSSI
	FOff  *int32       `json:"foff,omitempty"`  // SX1302: frequency offset, Hz
	RSig  []RSig       `json:"rsig,omitempty"`  // v2: per-antenna signal
}

// RSig is the per-antenna (per demodulator) signal report of a v2 rxpk.
type RSig struct {
	Ant    uint8   `json:"ant"`
	Chan   uint8   `json:"chan"`
	RSSIC  int16   `json:"rssic"`
	RSSIS  *int16  `json:"rssis,omitempty"`
	LSNR   float64 `json:"lsnr"`
	ETime  string  `json:"etime,omitempty"` // encrypted fine timestamp, base64
	FOff   *int32  `json:"foff,omitempty"`
	FTStat *int8   `json:"ftstat,omitempty"`
	FTVer  *uint8  `json:"ftver,omitempty"`
	FTime  *uint32 `json:"ftime,omitempty"`
}

// FrequencyHz returns Freq in Hz, rounded so that 868.1 becomes 868100000.
func (r RXPK) FrequencyHz() uint32 { return uint32(math.Round(r.Freq * 1e6)) }

// UnmarshalJSON decodes an rxpk strictly: a malformed field of any kind is
// an error. Data is accepted with or without base64 padding and checked
// against size. The server decodes leniently instead (ParsePushData).
func (r *RXPK) UnmarshalJSON(b []byte) error {
	v, dropped, err := decodeRXPK(b)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		return fmt.Errorf("rxpk %s: %w: %w", dropped[0].Field, ErrJSON, dropped[0].Err)
	}
	*r = v
	return nil
}

// TXPK is one packet to transmit, sent in a PULL_RESP.
type TXPK struct {
	Imme bool    `json:"imme,omitempty"` // send immediately (class C)
	Tmst *uint32 `json:"tmst,omitempty"` // concentrator counter to send at, us
	Tmms *int64  `json:"tmms,omitempty"` // GPS time to send at, ms
	Freq float64 `json:"freq"`           // MHz
	RFCh uint8   `json:"rfch"`
	Powe uint8   `json:"powe,omitempty"` // dBm
	Modu string  `json:"modu"`
	DatR DatR    `json:"datr"`
	CodR string  `json:"codr,omitempty"`
	FDev uint16  `json:"fdev,omitempty"` // FSK frequency deviation, Hz
	IPol bool    `json:"ipol"`           // inverted polarity: true for downlinks to devices
	Prea uint16  `json:"prea,omitempty"`
	Size uint16  `json:"size"`
	Data []byte  `json:"data"`
	NCRC bool    `json:"ncrc,omitempty"`
	Brd  *uint8  `json:"brd,omitempty"`
	Ant  *uint8  `json:"ant,omitempty"`
}

// UnmarshalJSON decodes a txpk with the same data rules as RXPK.
func (t *TXPK) UnmarshalJSON(b []byte) error {
	type plain TXPK
	var v struct {
		plain
		Data *string `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = TXPK(v.plain)
	data, err := decodeData(v.Data)
	if err != nil {
		return fmt.Errorf("txpk: %w", err)
	}
	t.Data = data
	if int(t.Size) != len(data) {
		return fmt.Errorf("txpk: size %d, data %d bytes: %w", t.Size, len(data), ErrSizeMismatch)
	}
	return nil
}

func decodeData(s *string) ([]byte, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	enc := base64.StdEncoding
	if len(*s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	d, err := enc.DecodeString(*s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBase64, err)
	}
	return d, nil
}

// DatR is a data rate: a LoRa string such as "SF7BW125", or an FSK bit rate.
// Exactly one of the fields is set.
type DatR struct {
	LoRa string
	FSK  uint32
}

// MarshalJSON encodes LoRa as a string and FSK as a number.
func (d DatR) MarshalJSON() ([]byte, error) {
	if d.LoRa != "" {
		return json.Marshal(d.LoRa)
	}
	return strconv.AppendUint(nil, uint64(d.FSK), 10), nil
}

// UnmarshalJSON accepts a string (LoRa) or a number (FSK).
func (d *DatR) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = DatR{LoRa: s}
		return nil
	}
	var n uint32
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("datr: %w", err)
	}
	*d = DatR{FSK: n}
	return nil
}

// CompactTime is the rxpk "time": UTC, RFC 3339 with fractional seconds.
type CompactTime time.Time

// MarshalJSON implements json.Marshaler.
func (c CompactTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = time.Time(c).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *CompactTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("compact time: %w", err)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		// An offset can push a valid local time out of the range that
		// can be written back.
		return fmt.Errorf("compact time %q: year out of range", s)
	}
	*c = CompactTime(t.UTC())
	return nil
}

// ExpandedTime is the stat "time": "2014-01-12 08:59:28 GMT".
type ExpandedTime time.Time

const expandedLayout = "2006-01-02 15:04:05"

// IsZero lets `omitzero` drop an unset time.
func (e ExpandedTime) IsZero() bool { return time.Time(e).IsZero() }

// MarshalJSON implements json.Marshaler.
func (e ExpandedTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 28)
	b = append(b, '"')
	b = time.Time(e).UTC().AppendFormat(b, expandedLayout)
	return append(b, " GMT\""...), nil
}

// UnmarshalJSON accepts the forwarder's "YYYY-MM-DD hh:mm:ss GMT" (or UTC)
// and, because some forwarders use it, RFC 3339.
func (e *ExpandedTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{expandedLayout + " MST", time.RFC3339Nano, expandedLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			if y := t.UTC().Year(); y < 0 || y > 9999 {
				return fmt.Errorf("stat time %q: year out of range", s)
			}
			*e = ExpandedTime(t.UTC())
			return nil
		}
	}
	return fmt.Errorf("stat time %q: unknown format", s)
}

// Stat is the gateway status object of a PUSH_DATA.
type Stat struct {
	Time ExpandedTime `json:"time,omitzero"`
	Lati *float64     `json:"lati,omitempty"` // degrees, GPS only
	Long *float64     `json:"long,omitempty"` // degrees, GPS only
	Alti *int32       `json:"alti,omitempty"` // meters, GPS only
	RXNb uint32       `json:"rxnb"`           // radio packets received
	RXOK uint32       `json:"rxok"`           // with a valid CRC
	RXFW uint32       `json:"rxfw"`           // forwarded
	ACKR float64      `json:"ackr"`           // % of upstream datagrams acknowledged
	DWNb uint32       `json:"dwnb"`           // downlink datagrams received
	TXNb uint32       `json:"txnb"`           // packets emitted
	// Beacon and GPS counters of v2 forwarders with class B support.
	LMOK *uint32 `json:"lmok,omitempty"`
	LMST *uint32 `json:"lmst,omitempty"`
	LMNW *uint32 `json:"lmnw,omitempty"`
	LPPS *uint32 `json:"lpps,omitempty"`
	// Extensions some forwarders add (TTN poly forwarder, SX1302 HAL).
	Temp *float64 `json:"temp,omitempty"`
	Pfrm string   `json:"pfrm,omitempty"`
	Mail string   `json:"mail,omitempty"`
	Desc string   `json:"desc,omitempty"`
}
