package basicstation

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/brocaar/lorawan"
)

// Message types a router sends (Basics Station LNS protocol).
const (
	msgVersion  = "version"
	msgUpdf     = "updf"
	msgJreq     = "jreq"
	msgPropdf   = "propdf"
	msgDntxed   = "dntxed"
	msgTimesync = "timesync"
)

// Reasons a router's message is refused (label "reason" of
// loraedge_basicstation_messages_rejected_total).
const (
	reasonBadJSON        = "bad_json"
	reasonMissingField   = "missing_field"
	reasonOutOfRange     = "out_of_range"
	reasonBadHex         = "bad_hex"
	reasonUnknownMsgtype = "unknown_msgtype"
	reasonRate           = "rate"
	reasonTooLarge       = "too_large"
	reasonBinary         = "binary"
)

var rejectReasons = []string{reasonBadJSON, reasonMissingField, reasonOutOfRange, reasonBadHex,
	reasonUnknownMsgtype, reasonRate, reasonTooLarge, reasonBinary}

// parseError is a refused message with the reason it is counted under.
type parseError struct {
	reason string
	msg    string
}

func (e *parseError) Error() string { return e.reason + ": " + e.msg }

func refuse(reason, format string, args ...any) error {
	return &parseError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// rawMessage holds every field a router's message may carry; which ones
// are required depends on msgtype. encoding/json matches names without
// regard to case, so "DevEui" and "DevEUI" both land in DevEUI.
type rawMessage struct {
	MsgType string `json:"msgtype"`

	Station  string `json:"station"`
	Firmware string `json:"firmware"`
	Package  string `json:"package"`
	Model    string `json:"model"`
	Protocol *int64 `json:"protocol"`
	Features string `json:"features"`

	MHdr       *int64  `json:"MHdr"`
	DevAddr    *int64  `json:"DevAddr"`
	FCtrl      *int64  `json:"FCtrl"`
	FCnt       *int64  `json:"FCnt"`
	FOpts      *string `json:"FOpts"`
	FPort      *int64  `json:"FPort"`
	FRMPayload *string `json:"FRMPayload"`
	MIC        *int64  `json:"MIC"`
	JoinEUI    *string `json:"JoinEui"`
	DevEUI     *string `json:"DevEui"`
	DevNonce   *int64  `json:"DevNonce"`
	DR         *int64  `json:"DR"`
	Freq       *int64  `json:"Freq"`
	UpInfo     *UpInfo `json:"upinfo"`

	DIID  *int64 `json:"diid"`
	XTime *int64 `json:"xtime"`
	RCtx  *int64 `json:"rctx"`

	TxTime json.Number `json:"txtime"`
}

// UpInfo is a frame's reception at the router.
type UpInfo struct {
	RCtx    int64   `json:"rctx"`
	XTime   int64   `json:"xtime"`
	GPSTime int64   `json:"gpstime"`
	RSSI    float64 `json:"rssi"`
	SNR     float64 `json:"snr"`
	RxTime  float64 `json:"rxtime"`
}

// message is a router's message after its checks; exactly the part of
// its type is set.
type message struct {
	typ      string
	up       *upFrame
	dntxed   *dntxed
	version  *versionMsg
	timesync json.Number
}

// upFrame is an uplink with the PHYPayload put back together.
type upFrame struct {
	PHYPayload []byte
	DR         int
	Freq       uint32
	Info       UpInfo
}

type dntxed struct {
	DIID   int64
	DevEUI lorawan.EUI64
	XTime  int64
	Freq   int64 // Hz the frame went out on; 0 when not given
}

type versionMsg struct {
	Station, Firmware, Package, Model, Features string
	Protocol                                    int64
}

// parseMessage checks a router's text message. It never panics; every
// refusal is a *parseError naming its reason.
func parseMessage(b []byte) (message, error) {
	var r rawMessage
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		return message{}, refuse(reasonBadJSON, "%v", err)
	}
	m := message{typ: r.MsgType}
	var err error
	switch r.MsgType {
	case msgVersion:
		if r.Protocol == nil {
			return m, refuse(reasonMissingField, "version without protocol")
		}
		m.version = &versionMsg{Station: r.Station, Firmware: r.Firmware, Package: r.Package, Model: r.Model,
			Features: r.Features, Protocol: *r.Protocol}
	case msgUpdf:
		m.up, err = r.updf()
	case msgJreq:
		m.up, err = r.jreq()
	case msgPropdf:
		m.up, err = r.propdf()
	case msgDntxed:
		m.dntxed, err = r.dntxed()
	case msgTimesync:
		if r.TxTime == "" {
			return m, refuse(reasonMissingField, "timesync without txtime")
		}
		if _, err := r.TxTime.Float64(); err != nil {
			return m, refuse(reasonOutOfRange, "timesync txtime %q", r.TxTime)
		}
		m.timesync = r.TxTime
	case "":
		return m, refuse(reasonMissingField, "no msgtype")
	default:
		return m, refuse(reasonUnknownMsgtype, "msgtype %.32q", r.MsgType)
	}
	return m, err
}

// radio checks the fields every uplink carries.
func (r *rawMessage) radio() (upFrame, error) {
	if r.DR == nil || r.Freq == nil || r.UpInfo == nil {
		return upFrame{}, refuse(reasonMissingField, "%s without DR, Freq or upinfo", r.MsgType)
	}
	if *r.DR < 0 || *r.DR > 15 {
		return upFrame{}, refuse(reasonOutOfRange, "DR %d", *r.DR)
	}
	if *r.Freq < 100e6 || *r.Freq > 1e9 {
		return upFrame{}, refuse(reasonOutOfRange, "Freq %d", *r.Freq)
	}
	u := *r.UpInfo
	if u.XTime <= 0 || math.IsNaN(u.SNR) || math.IsNaN(u.RSSI) {
		return upFrame{}, refuse(reasonOutOfRange, "upinfo xtime %d", u.XTime)
	}
	return upFrame{DR: int(*r.DR), Freq: uint32(*r.Freq), Info: u}, nil
}

// updf puts a data frame back together: MHDR | DevAddr | FCtrl | FCnt |
// FOpts | FPort | FRMPayload | MIC, the multi-byte fields little-endian.
func (r *rawMessage) updf() (*upFrame, error) {
	f, err := r.radio()
	if err != nil {
		return nil, err
	}
	if r.MHdr == nil || r.DevAddr == nil || r.FCtrl == nil || r.FCnt == nil || r.FOpts == nil ||
		r.FPort == nil || r.FRMPayload == nil || r.MIC == nil {
		return nil, refuse(reasonMissingField, "updf without one of MHdr, DevAddr, FCtrl, FCnt, FOpts, FPort, FRMPayload, MIC")
	}
	if err := inRange("MHdr", *r.MHdr, 0, 255); err != nil {
		return nil, err
	}
	if err := inRange("FCtrl", *r.FCtrl, 0, 255); err != nil {
		return nil, err
	}
	if err := inRange("FCnt", *r.FCnt, 0, 65535); err != nil {
		return nil, err
	}
	if err := inRange("FPort", *r.FPort, -1, 255); err != nil {
		return nil, err
	}
	addr, err := word32("DevAddr", *r.DevAddr)
	if err != nil {
		return nil, err
	}
	mic, err := word32("MIC", *r.MIC)
	if err != nil {
		return nil, err
	}
	fopts, err := hexField("FOpts", *r.FOpts)
	if err != nil {
		return nil, err
	}
	if len(fopts) != int(*r.FCtrl&0x0f) {
		return nil, refuse(reasonOutOfRange, "FOpts has %d bytes, FCtrl says %d", len(fopts), *r.FCtrl&0x0f)
	}
	pl, err := hexField("FRMPayload", *r.FRMPayload)
	if err != nil {
		return nil, err
	}
	if *r.FPort < 0 && len(pl) > 0 {
		return nil, refuse(reasonOutOfRange, "FRMPayload without FPort")
	}
	if len(pl) > 242 {
		return nil, refuse(reasonOutOfRange, "FRMPayload of %d bytes", len(pl))
	}
	phy := make([]byte, 0, 13+len(fopts)+len(pl))
	phy = append(phy, byte(*r.MHdr))
	phy = binary.LittleEndian.AppendUint32(phy, addr)
	phy = append(phy, byte(*r.FCtrl))
	phy = binary.LittleEndian.AppendUint16(phy, uint16(*r.FCnt))
	phy = append(phy, fopts...)
	if *r.FPort >= 0 {
		phy = append(phy, byte(*r.FPort))
		phy = append(phy, pl...)
	}
	f.PHYPayload = binary.LittleEndian.AppendUint32(phy, mic)
	return &f, nil
}

// jreq puts a join-request back together: MHDR | JoinEUI | DevEUI |
// DevNonce | MIC, little-endian on air.
func (r *rawMessage) jreq() (*upFrame, error) {
	f, err := r.radio()
	if err != nil {
		return nil, err
	}
	if r.MHdr == nil || r.JoinEUI == nil || r.DevEUI == nil || r.DevNonce == nil || r.MIC == nil {
		return nil, refuse(reasonMissingField, "jreq without one of MHdr, JoinEui, DevEui, DevNonce, MIC")
	}
	if err := inRange("MHdr", *r.MHdr, 0, 255); err != nil {
		return nil, err
	}
	if err := inRange("DevNonce", *r.DevNonce, 0, 65535); err != nil {
		return nil, err
	}
	mic, err := word32("MIC", *r.MIC)
	if err != nil {
		return nil, err
	}
	join, err := parseEUI(*r.JoinEUI)
	if err != nil {
		return nil, refuse(reasonOutOfRange, "JoinEui: %v", err)
	}
	dev, err := parseEUI(*r.DevEUI)
	if err != nil {
		return nil, refuse(reasonOutOfRange, "DevEui: %v", err)
	}
	phy := make([]byte, 0, 23)
	phy = append(phy, byte(*r.MHdr))
	phy = binary.LittleEndian.AppendUint64(phy, binary.BigEndian.Uint64(join[:]))
	phy = binary.LittleEndian.AppendUint64(phy, binary.BigEndian.Uint64(dev[:]))
	phy = binary.LittleEndian.AppendUint16(phy, uint16(*r.DevNonce))
	f.PHYPayload = binary.LittleEndian.AppendUint32(phy, mic)
	return &f, nil
}

// propdf carries a proprietary frame whole in FRMPayload.
func (r *rawMessage) propdf() (*upFrame, error) {
	f, err := r.radio()
	if err != nil {
		return nil, err
	}
	if r.FRMPayload == nil {
		return nil, refuse(reasonMissingField, "propdf without FRMPayload")
	}
	phy, err := hexField("FRMPayload", *r.FRMPayload)
	if err != nil {
		return nil, err
	}
	if len(phy) == 0 || len(phy) > 255 {
		return nil, refuse(reasonOutOfRange, "propdf of %d bytes", len(phy))
	}
	f.PHYPayload = phy
	return &f, nil
}

func (r *rawMessage) dntxed() (*dntxed, error) {
	if r.DIID == nil {
		return nil, refuse(reasonMissingField, "dntxed without diid")
	}
	d := &dntxed{DIID: *r.DIID}
	if r.XTime != nil {
		d.XTime = *r.XTime
	}
	if r.Freq != nil {
		d.Freq = *r.Freq
	}
	if r.DevEUI != nil {
		eui, err := parseEUI(*r.DevEUI)
		if err != nil {
			return nil, refuse(reasonOutOfRange, "DevEui: %v", err)
		}
		d.DevEUI = eui
	}
	return d, nil
}

func inRange(name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return refuse(reasonOutOfRange, "%s %d is outside %d..%d", name, v, lo, hi)
	}
	return nil
}

// word32 takes a 32-bit field Basics Station sends signed (DevAddr, MIC);
// the unsigned form is accepted too.
func word32(name string, v int64) (uint32, error) {
	if v < math.MinInt32 || v > math.MaxUint32 {
		return 0, refuse(reasonOutOfRange, "%s %d is not a 32-bit value", name, v)
	}
	return uint32(v), nil //nolint:gosec // range checked above; negative values wrap as the router meant
}

func hexField(name, s string) ([]byte, error) {
	if len(s) > 2*255 {
		return nil, refuse(reasonOutOfRange, "%s of %d hex digits", name, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, refuse(reasonBadHex, "%s: %v", name, err)
	}
	return b, nil
}

var errEUI = errors.New("not an EUI-64: 16 hex digits, in groups of two joined by '-' or ':', or an id6")

// parseEUI reads the EUI forms Basics Station uses: "01-23-45-67-89-ab-cd-ef"
// (also with ':' or none), and the id6 form "0123:4567:89ab:cdef" with
// "::" for a run of zero groups, as in IPv6.
func parseEUI(s string) (lorawan.EUI64, error) {
	var eui lorawan.EUI64
	if len(s) > 39 {
		return eui, errEUI
	}
	plain := strings.NewReplacer("-", "", ":", "").Replace(s)
	if len(plain) == 16 && (strings.Count(s, ":") != 3 || len(s) != 19) {
		if _, err := hex.Decode(eui[:], []byte(plain)); err != nil {
			return eui, errEUI
		}
		return eui, nil
	}
	return parseID6(s)
}

func parseID6(s string) (lorawan.EUI64, error) {
	var eui lorawan.EUI64
	head, tail, compressed := strings.Cut(s, "::")
	if strings.Contains(tail, "::") {
		return eui, errEUI
	}
	groups := func(p string) ([]uint16, error) {
		if p == "" {
			return nil, nil
		}
		var out []uint16
		for g := range strings.SplitSeq(p, ":") {
			if len(g) == 0 || len(g) > 4 {
				return nil, errEUI
			}
			v, err := strconv.ParseUint(g, 16, 16)
			if err != nil {
				return nil, errEUI
			}
			out = append(out, uint16(v))
		}
		return out, nil
	}
	hg, err := groups(head)
	if err != nil {
		return eui, err
	}
	tg, err := groups(tail)
	if err != nil {
		return eui, err
	}
	if (!compressed && len(hg) != 4) || (compressed && len(hg)+len(tg) > 3) {
		return eui, errEUI
	}
	all := make([]uint16, 4)
	copy(all, hg)
	copy(all[4-len(tg):], tg)
	for i, g := range all {
		binary.BigEndian.PutUint16(eui[2*i:], g)
	}
	return eui, nil
}

// parseRouterID reads the router field of a router-info request: a number
// or one of the EUI strings parseEUI takes.
func parseRouterID(v any) (lorawan.EUI64, error) {
	var eui lorawan.EUI64
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseUint(string(x), 10, 64)
		if err != nil {
			return eui, errEUI
		}
		binary.BigEndian.PutUint64(eui[:], n)
		return eui, nil
	case string:
		return parseEUI(x)
	default:
		return eui, errEUI
	}
}

// formatEUI writes an EUI as Basics Station does: "01-23-45-67-89-ab-cd-ef".
func formatEUI(e lorawan.EUI64) string {
	var b strings.Builder
	for i, c := range e {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(hex.EncodeToString([]byte{c}))
	}
	return b.String()
}
