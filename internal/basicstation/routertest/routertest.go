// Package routertest is a LoRa Basics Station router for tests, written
// from the LNS protocol: it discovers its WebSocket through router-info,
// sends version and frames in Basics Station's form (updf, jreq, propdf),
// and answers dnmsg with dntxed like a router whose radio sent the frame.
package routertest

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/gorilla/websocket"
)

// Router is one connected router.
type Router struct {
	ID lorawan.EUI64
	ws *websocket.Conn
	// Config is the router_config the LNS answered version with.
	Config map[string]any
}

// Credentials are what a router presents: a client certificate (TLS) and
// or an Authorization header (its token).
type Credentials struct {
	TLS           *tls.Config
	Authorization string
}

func (c Credentials) dialer() (*websocket.Dialer, http.Header) {
	h := http.Header{}
	if c.Authorization != "" {
		h.Set("Authorization", c.Authorization)
	}
	return &websocket.Dialer{TLSClientConfig: c.TLS, HandshakeTimeout: 5 * time.Second}, h
}

// Discover asks addr's router-info for the router's URI and returns it,
// or the LNS's error.
func Discover(ctx context.Context, addr string, id lorawan.EUI64, c Credentials) (string, error) {
	d, h := c.dialer()
	ws, _, err := d.DialContext(ctx, "wss://"+addr+"/router-info", h)
	if err != nil {
		return "", fmt.Errorf("router-info: %w", err)
	}
	defer ws.Close() //nolint:errcheck // test client
	if err := ws.WriteJSON(map[string]any{"router": ID6(id)}); err != nil {
		return "", err
	}
	var ans struct {
		URI   string `json:"uri"`
		Error string `json:"error"`
	}
	if err := ws.ReadJSON(&ans); err != nil {
		return "", err
	}
	if ans.Error != "" {
		return "", errors.New(ans.Error)
	}
	return ans.URI, nil
}

// Connect discovers and opens the router's WebSocket, sends version and
// waits for router_config.
func Connect(ctx context.Context, addr string, id lorawan.EUI64, c Credentials) (*Router, error) {
	uri, err := Discover(ctx, addr, id, c)
	if err != nil {
		return nil, err
	}
	return Open(ctx, uri, id, c)
}

// Open connects to the router URI directly, as a router that cached it.
func Open(ctx context.Context, uri string, id lorawan.EUI64, c Credentials) (*Router, error) {
	d, h := c.dialer()
	ws, resp, err := d.DialContext(ctx, uri, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("router connection: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("router connection: %w", err)
	}
	r := &Router{ID: id, ws: ws}
	if err := r.Send(map[string]any{"msgtype": "version", "station": "routertest", "firmware": "1",
		"package": "1", "model": "routertest", "protocol": 2, "features": ""}); err != nil {
		return nil, err
	}
	m, err := r.Next(ctx, "router_config")
	if err != nil {
		return nil, err
	}
	r.Config = m
	return r, nil
}

// Close closes the connection.
func (r *Router) Close() error { return r.ws.Close() }

// Send writes one message.
func (r *Router) Send(v any) error {
	_ = r.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // test client
	return r.ws.WriteJSON(v)
}

// SendRaw writes one text message as is.
func (r *Router) SendRaw(b []byte) error {
	_ = r.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // test client
	return r.ws.WriteMessage(websocket.TextMessage, b)
}

// Next reads messages until one of msgtype comes (any type when empty).
func (r *Router) Next(ctx context.Context, msgtype string) (map[string]any, error) {
	for {
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Now().Add(10 * time.Second)
		}
		_ = r.ws.SetReadDeadline(dl) //nolint:errcheck // test client
		_, b, err := r.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			return nil, err
		}
		if msgtype == "" || m["msgtype"] == msgtype {
			return m, nil
		}
	}
}

// Radio is how the router heard a frame.
type Radio struct {
	DR      int
	Freq    uint32
	XTime   int64
	RCtx    int64
	GPSTime int64
	RSSI    float64
	SNR     float64
}

// Uplink sends a frame the way Basics Station reports it.
func (r *Router) Uplink(phy []byte, rd Radio) error {
	m, err := UplinkMessage(phy, rd)
	if err != nil {
		return err
	}
	return r.Send(m)
}

// Dntxed confirms a dnmsg as sent in its first window: RX1 of a Class A
// downlink (xtime + RxDelay), the RX2 parameters of a Class C one.
func (r *Router) Dntxed(dn map[string]any) error {
	if dn["dC"] == json.Number("2") {
		return r.dntxed(dn, dn["RX2DR"], dn["RX2Freq"], dn["xtime"])
	}
	xt, err := txXTime(dn, 0)
	if err != nil {
		return err
	}
	return r.dntxed(dn, dn["RX1DR"], dn["RX1Freq"], xt)
}

// DntxedRX2 confirms a Class A dnmsg as sent in its RX2 window, a second
// after RX1, as Basics Station does when it cannot place the frame in RX1
// (too late, channel busy). A dnmsg without RX2 is an error.
func (r *Router) DntxedRX2(dn map[string]any) error {
	if dn["RX2Freq"] == nil || dn["RX2DR"] == nil {
		return errors.New("dnmsg without RX2DR/RX2Freq")
	}
	xt, err := txXTime(dn, 1_000_000)
	if err != nil {
		return err
	}
	return r.dntxed(dn, dn["RX2DR"], dn["RX2Freq"], xt)
}

func (r *Router) dntxed(dn map[string]any, dr, freq, xtime any) error {
	return r.Send(map[string]any{"msgtype": "dntxed", "diid": dn["diid"], "DevEui": dn["DevEui"],
		"DR": dr, "Freq": freq, "rctx": dn["rctx"], "xtime": xtime, "txtime": 0, "gpstime": 0})
}

// txXTime is when a Class A dnmsg goes out: the uplink's xtime plus
// RxDelay seconds, plus extra µs.
func txXTime(dn map[string]any, extra int64) (int64, error) {
	up, ok1 := dn["xtime"].(json.Number)
	delay, ok2 := dn["RxDelay"].(json.Number)
	if !ok1 || !ok2 {
		return 0, errors.New("class A dnmsg without xtime or RxDelay")
	}
	x, err := up.Int64()
	if err != nil {
		return 0, fmt.Errorf("dnmsg xtime: %w", err)
	}
	d, err := delay.Int64()
	if err != nil {
		return 0, fmt.Errorf("dnmsg RxDelay: %w", err)
	}
	return x + d*1_000_000 + extra, nil
}

// UplinkMessage is a frame in Basics Station's form: a join-request as
// jreq, a data frame as updf split into its fields, anything else as propdf.
func UplinkMessage(phy []byte, rd Radio) (map[string]any, error) {
	m := map[string]any{"DR": rd.DR, "Freq": rd.Freq, "upinfo": map[string]any{"rctx": rd.RCtx, "xtime": rd.XTime,
		"gpstime": rd.GPSTime, "fts": -1, "rssi": rd.RSSI, "snr": rd.SNR, "rxtime": float64(time.Now().UnixMicro()) / 1e6}}
	if len(phy) == 0 {
		return nil, errors.New("empty frame")
	}
	mic := func() int32 { return int32(binary.LittleEndian.Uint32(phy[len(phy)-4:])) } //nolint:gosec // sent signed, as Basics Station does
	switch lorawan.MType(phy[0] >> 5) {
	case lorawan.JoinRequest:
		if len(phy) != 23 {
			return nil, fmt.Errorf("join-request of %d bytes", len(phy))
		}
		m["msgtype"], m["MHdr"] = "jreq", phy[0]
		m["JoinEui"] = eui(phy[1:9])
		m["DevEui"] = eui(phy[9:17])
		m["DevNonce"] = binary.LittleEndian.Uint16(phy[17:19])
		m["MIC"] = mic()
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		if len(phy) < 12 {
			return nil, fmt.Errorf("data frame of %d bytes", len(phy))
		}
		fol := int(phy[5] & 0x0f)
		port := 8 + fol
		if port > len(phy)-4 {
			return nil, errors.New("FOpts beyond the frame")
		}
		m["msgtype"], m["MHdr"] = "updf", phy[0]
		m["DevAddr"] = int32(binary.LittleEndian.Uint32(phy[1:5])) //nolint:gosec // sent signed
		m["FCtrl"] = phy[5]
		m["FCnt"] = binary.LittleEndian.Uint16(phy[6:8])
		m["FOpts"] = hex.EncodeToString(phy[8:port])
		m["MIC"] = mic()
		if port == len(phy)-4 {
			m["FPort"], m["FRMPayload"] = -1, ""
		} else {
			m["FPort"], m["FRMPayload"] = phy[port], hex.EncodeToString(phy[port+1:len(phy)-4])
		}
	default:
		m["msgtype"], m["FRMPayload"] = "propdf", hex.EncodeToString(phy)
	}
	return m, nil
}

// eui writes little-endian EUI bytes from the air as "01-23-...".
func eui(le []byte) string {
	parts := make([]string, 8)
	for i := range 8 {
		parts[i] = hex.EncodeToString(le[7-i : 8-i])
	}
	return strings.Join(parts, "-")
}

// ID6 writes an EUI in Basics Station's id6 form, "0123:4567:89ab:cdef".
func ID6(id lorawan.EUI64) string {
	return fmt.Sprintf("%x:%x:%x:%x", binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:]),
		binary.BigEndian.Uint16(id[4:]), binary.BigEndian.Uint16(id[6:]))
}
