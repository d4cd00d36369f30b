package basicstation

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/basicstation/routertest"
	"github.com/loraedge/loraedge/internal/testserver"
)

var (
	certRouter  = lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 1}
	tokenRouter = lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 2}
)

const testToken = "Bearer 0123456789abcdef0123456789abcdef"

type fixture struct {
	s       *Server
	addr    string
	pki     testserver.PKI
	reg     *prometheus.Registry
	cert    Credentials
	token   Credentials
	mu      sync.Mutex
	dntxeds []uint64
	windows []Window
	stop    func() error // ends Run and returns its result; idempotent
}

// Credentials of a test router.
type Credentials = routertest.Credentials

func euBand(t *testing.T) band.Band {
	t.Helper()
	b, err := band.GetConfig(band.EU868, false, lorawan.DwellTimeNoLimit)
	require.NoError(t, err)
	for _, f := range []uint32{867100000, 867300000, 867500000, 867700000, 867900000} {
		require.NoError(t, b.AddChannel(f, 0, 5))
	}
	return b
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	f := &fixture{pki: testserver.NewPKI(t), reg: prometheus.NewRegistry()}
	tokenFile := filepath.Join(t.TempDir(), "tc.key")
	require.NoError(t, os.WriteFile(tokenFile, []byte("Authorization: "+testToken+"\r\n"), 0o600))
	c := DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.TLS = TLSConfig{CertFile: f.pki.ServerCertFile, KeyFile: f.pki.ServerKeyFile, ClientCAFile: f.pki.CAFile}
	c.Routers = []RouterConfig{{ID: certRouter, Name: "Feuerwache"}, {ID: tokenRouter, Name: "Bauhof", TokenFile: tokenFile}}
	if mutate != nil {
		mutate(&c)
	}
	s, err := NewServer(Options{Config: c, Band: euBand(t), Registerer: f.reg,
		OnDntxed: func(_ lorawan.EUI64, id uint64, w Window) {
			f.mu.Lock()
			f.dntxeds, f.windows = append(f.dntxeds, id), append(f.windows, w)
			f.mu.Unlock()
		}})
	require.NoError(t, err)
	f.s, f.addr = s, s.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	f.stop = func() error { once.Do(func() { cancel(); runErr = <-done }); return runErr }
	t.Cleanup(func() { require.NoError(t, f.stop()) })
	cert, _, _ := f.pki.ClientCert(t, routertest.ID6(certRouter))
	f.cert = f.withCert(cert)
	f.token = Credentials{TLS: &tls.Config{RootCAs: f.pki.CA, MinVersion: tls.VersionTLS12}, Authorization: testToken}
	return f
}

// withCert are the credentials of a router with the client certificate c.
func (f *fixture) withCert(c tls.Certificate) Credentials {
	return Credentials{TLS: &tls.Config{RootCAs: f.pki.CA, Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}}
}

func (f *fixture) connect(t *testing.T, id lorawan.EUI64, c Credentials) *routertest.Router {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := routertest.Connect(ctx, f.addr, id, c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func nextFrame(t *testing.T, s *Server) Frame {
	t.Helper()
	select {
	case fr := <-s.Frames():
		return fr
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
		return Frame{}
	}
}

func TestRouterConfigFromBand(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, certRouter, f.cert)
	c := r.Config
	assert.Equal(t, "EU868", c["region"])
	assert.Equal(t, true, c["nodc"])
	drs := c["DRs"].([]any)
	require.Len(t, drs, 16)
	assert.Equal(t, []any{json.Number("12"), json.Number("125"), json.Number("0")}, drs[0])
	assert.Equal(t, []any{json.Number("7"), json.Number("250"), json.Number("0")}, drs[6])
	assert.Equal(t, []any{json.Number("0"), json.Number("0"), json.Number("0")}, drs[7], "DR7 is FSK")
	conf := c["sx1301_conf"].([]any)[0].(map[string]any)
	var freqs []int64
	for i := range 8 {
		ch := conf["chan_multiSF_"+string(rune('0'+i))].(map[string]any)
		require.Equal(t, true, ch["enable"])
		radio := conf["radio_"+ch["radio"].(json.Number).String()].(map[string]any)
		center, _ := radio["freq"].(json.Number).Int64()
		off, _ := ch["if"].(json.Number).Int64()
		assert.LessOrEqual(t, off, int64(400000))
		assert.GreaterOrEqual(t, off, int64(-400000))
		freqs = append(freqs, center+off)
	}
	assert.Equal(t, []int64{867100000, 867300000, 867500000, 867700000, 867900000, 868100000, 868300000, 868500000}, freqs)
}

func TestUplinksBecomeFrames(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, tokenRouter, f.token)
	data := []byte{0x80, 0x04, 0x03, 0x02, 0x01, 0x82, 0x2a, 0x00, 0x06, 0x07, 0x0a, 0xaa, 0xbb, 0xcc, 0xf1, 0xf2, 0xf3, 0xf4}
	join := []byte{0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x34, 0x12, 0xa1, 0xa2, 0xa3, 0xf4}
	noPort := []byte{0x40, 0x04, 0x03, 0x02, 0x01, 0x00, 0x01, 0x00, 0xf1, 0xf2, 0xf3, 0xf4}
	prop := []byte{0xe0, 0x01, 0x02}
	gps := gpsMicros(time.Now())
	for i, phy := range [][]byte{data, join, noPort, prop} {
		xt := int64(0x2000000000000) + int64(i)*1_000_000 + 0xfffff000
		require.NoError(t, r.Uplink(phy, routertest.Radio{DR: 5, Freq: 868300000, XTime: xt, RSSI: -71, SNR: 9.25, GPSTime: gps}))
		fr := nextFrame(t, f.s)
		assert.Equal(t, phy, fr.PHYPayload, "frame %d", i)
		assert.Equal(t, tokenRouter, fr.RouterID)
		assert.Equal(t, tokenRouter, fr.RxInfo.GatewayID)
		assert.Equal(t, "SF7BW125", fr.RxInfo.DataRate)
		assert.Equal(t, uint32(868300000), fr.RxInfo.Frequency)
		assert.Equal(t, uint32(xt), fr.RxInfo.Tmst) //nolint:gosec // the test's low bits
		assert.Equal(t, -71, fr.RxInfo.RSSI)
		assert.InDelta(t, 9.25, fr.RxInfo.SNR, 1e-9)
		require.NotNil(t, fr.RxInfo.Time)
		assert.WithinDuration(t, time.Now(), *fr.RxInfo.Time, 2*time.Second)
	}
	assert.InDelta(t, 1.0, testutil.ToFloat64(f.s.m.messages.WithLabelValues("jreq")), 0)
	assert.InDelta(t, 2.0, testutil.ToFloat64(f.s.m.messages.WithLabelValues("updf")), 0)
	assert.InDelta(t, 1.0, testutil.ToFloat64(f.s.m.messages.WithLabelValues("propdf")), 0)
	st := f.s.Routers()
	assert.Equal(t, uint64(4), st[1].Uplinks)
	assert.True(t, st[1].Connected)
	assert.False(t, st[0].Connected)
}

func TestDownlinkScheduledByXtimeAndConfirmed(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.DntxedTimeout = time.Second })
	r := f.connect(t, certRouter, f.cert)
	dev := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}
	xt := int64(0x1000000000000) + 0xffc00000 // the low 32 bits wrap within the RX delay
	require.NoError(t, r.Uplink([]byte{0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 0, 1, 2, 3, 4},
		routertest.Radio{DR: 0, Freq: 868100000, XTime: xt, RCtx: 7}))
	nextFrame(t, f.s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Join-accept in RX2 of the join window: 6 s after the uplink.
	require.NoError(t, f.s.Send(Downlink{ID: 41, RouterID: certRouter, DevEUI: dev, PHYPayload: []byte{0x20, 1, 2},
		Frequency: 869525000, DataRate: "SF12BW125", Tmst: uint32(xt) + 6_000_000})) //nolint:gosec // test values
	dn, err := r.Next(ctx, "dnmsg")
	require.NoError(t, err)
	assert.Equal(t, json.Number("41"), dn["diid"])
	assert.Equal(t, "70-b3-d5-7e-d0-00-00-01", dn["DevEui"])
	assert.Equal(t, json.Number("0"), dn["dC"])
	assert.Equal(t, json.Number(jsonInt(xt)), dn["xtime"])
	assert.Equal(t, json.Number("7"), dn["rctx"])
	assert.Equal(t, json.Number("6"), dn["RxDelay"])
	assert.Equal(t, json.Number("0"), dn["RX1DR"])
	assert.Equal(t, json.Number("869525000"), dn["RX1Freq"])
	assert.Equal(t, "200102", dn["pdu"])
	require.NoError(t, r.Dntxed(dn))
	require.Eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.dntxeds) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []uint64{41}, f.dntxeds)

	// Class C: at once, in the RX2 parameters.
	require.NoError(t, f.s.Send(Downlink{ID: 42, RouterID: certRouter, DevEUI: dev, PHYPayload: []byte{0x60},
		Frequency: 869525000, DataRate: "SF9BW125", Immediately: true}))
	dn, err = r.Next(ctx, "dnmsg")
	require.NoError(t, err)
	assert.Equal(t, json.Number("2"), dn["dC"])
	assert.Equal(t, json.Number("3"), dn["RX2DR"])
	assert.Equal(t, json.Number("869525000"), dn["RX2Freq"])
	assert.Nil(t, dn["xtime"])
	// Not confirmed: counted as missing once the timeout passes.
	require.Eventually(t, func() bool { return testutil.ToFloat64(f.s.m.dntxedMissing) == 1 }, 5*time.Second, 50*time.Millisecond)
	assert.Equal(t, uint64(1), f.s.Routers()[0].DntxedMissing)
	assert.Equal(t, uint64(1), f.s.Routers()[0].DntxedMissingRun)
	assert.Contains(t, f.s.Routers()[0].Remote, "127.0.0.1:")
	assert.Equal(t, uint64(1), f.s.Routers()[0].Dntxed)

	// A downlink answering no uplink of this router is refused and counted.
	require.Error(t, f.s.Send(Downlink{ID: 43, RouterID: certRouter, DevEUI: dev, Frequency: 868100000,
		DataRate: "SF12BW125", Tmst: uint32(xt) + 40_000_000})) //nolint:gosec // test values
	assert.InDelta(t, 1.0, testutil.ToFloat64(f.s.m.downlinks.WithLabelValues(dnNoUplink)), 0)
	require.Error(t, f.s.Send(Downlink{ID: 44, RouterID: tokenRouter, Tmst: 1}))
	assert.InDelta(t, 1.0, testutil.ToFloat64(f.s.m.downlinks.WithLabelValues(dnNotConnected)), 0)
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTimesync(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, certRouter, f.cert)
	require.NoError(t, r.Send(map[string]any{"msgtype": "timesync", "txtime": 123456789}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.Next(ctx, "timesync")
	require.NoError(t, err)
	assert.Equal(t, json.Number("123456789"), m["txtime"])
	g, err := m["gpstime"].(json.Number).Int64()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), gpsTime(g), 2*time.Second)
}

func TestRoutersWithoutValidCredentialsRefused(t *testing.T) {
	f := newFixture(t, nil)
	otherCA := testserver.NewPKI(t)
	foreign, _, _ := otherCA.ClientCert(t, routertest.ID6(certRouter))
	wrongCN, _, _ := f.pki.ClientCert(t, routertest.ID6(tokenRouter))
	roots := &tls.Config{RootCAs: f.pki.CA, MinVersion: tls.VersionTLS12}
	withCert := f.withCert
	cases := []struct {
		name   string
		id     lorawan.EUI64
		cred   Credentials
		reason string
	}{
		{"no credentials", certRouter, Credentials{TLS: roots}, refusedNoCredentials},
		{"wrong token", tokenRouter, Credentials{TLS: roots, Authorization: "Bearer wrong-token-wrong-token"}, refusedBadCredentials},
		{"token of a certificate router", certRouter, Credentials{TLS: roots, Authorization: testToken}, refusedBadCredentials},
		{"certificate naming another router", certRouter, withCert(wrongCN), refusedBadCredentials},
		{"certificate of another CA", certRouter, withCert(foreign), refusedBadCredentials},
		{"unknown router", lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}, f.cert, refusedUnknownRouter},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := testutil.ToFloat64(f.s.m.refused.WithLabelValues(c.reason))
			_, err := routertest.Discover(ctx, f.addr, c.id, c.cred)
			require.ErrorContains(t, err, c.reason)
			_, err = routertest.Open(ctx, "wss://"+f.addr+"/router-"+hex.EncodeToString(c.id[:]), c.id, c.cred)
			require.Error(t, err)
			assert.InDelta(t, before+2, testutil.ToFloat64(f.s.m.refused.WithLabelValues(c.reason)), 0)
		})
	}
	assert.InDelta(t, 0, testutil.ToFloat64(f.s.m.accepted), 0)
	// The good credentials still work after all that.
	f.connect(t, certRouter, f.cert)
	f.connect(t, tokenRouter, f.token)
	assert.InDelta(t, 2, testutil.ToFloat64(f.s.m.accepted), 0)
}

func TestMalformedOversizedAndFastMessagesCounted(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MessagesPerSecond, c.Burst, c.MaxMessageBytes = 1, 12, 1024 })
	r := f.connect(t, certRouter, f.cert) // version: one token
	bad := []string{`{`, `{"msgtype":"updf"}`, `{"msgtype":"updf","DR":5,"Freq":868100000,"upinfo":{"xtime":1},"MHdr":64,"DevAddr":1,"FCtrl":1,"FCnt":1,"FOpts":"","FPort":1,"FRMPayload":"","MIC":1}`,
		`{"msgtype":"jreq","DR":5,"Freq":868100000,"upinfo":{"xtime":1},"MHdr":0,"JoinEui":"zz","DevEui":"00-00-00-00-00-00-00-01","DevNonce":1,"MIC":1}`,
		`{"msgtype":"propdf","DR":5,"Freq":868100000,"upinfo":{"xtime":1},"FRMPayload":"xyz"}`,
		`{"msgtype":"launch"}`, `{"msgtype":"updf","DR":99,"Freq":868100000,"upinfo":{"xtime":1}}`}
	for _, b := range bad {
		require.NoError(t, r.SendRaw([]byte(b)))
	}
	// Tokens left: 12 - 1 - 7 = 4; the next 6 messages exceed them by 2
	// (the bucket refills 1/s, so allow one more at most).
	for range 6 {
		require.NoError(t, r.Send(map[string]any{"msgtype": "timesync", "txtime": 1}))
	}
	m := f.s.m.rejected
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.WithLabelValues(reasonRate)) >= 1 }, 5*time.Second, 10*time.Millisecond)
	assert.InDelta(t, 1, testutil.ToFloat64(m.WithLabelValues(reasonBadJSON)), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(m.WithLabelValues(reasonMissingField)), 0)
	assert.InDelta(t, 3, testutil.ToFloat64(m.WithLabelValues(reasonOutOfRange)), 0, "FOpts length, JoinEui and DR")
	assert.InDelta(t, 1, testutil.ToFloat64(m.WithLabelValues(reasonBadHex)), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(m.WithLabelValues(reasonUnknownMsgtype)), 0)
	// Too large closes the connection.
	require.NoError(t, r.SendRaw([]byte(`{"msgtype":"timesync","pad":"`+strings.Repeat("x", 2000)+`"}`)))
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.WithLabelValues(reasonTooLarge)) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return !f.s.Connected(certRouter) }, 5*time.Second, 10*time.Millisecond)
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	f := newFixture(t, nil)
	r1 := f.connect(t, certRouter, f.cert)
	f.connect(t, certRouter, f.cert)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r1.Next(ctx, "")
	require.Error(t, err, "the first connection is closed")
	assert.True(t, f.s.Connected(certRouter))
	require.Eventually(t, func() bool { return testutil.ToFloat64(f.s.m.connected) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestParseEUIForms(t *testing.T) {
	want := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x61, 0x57, 0xd7}
	for _, s := range []string{"b827ebfffe6157d7", "b8-27-eb-ff-fe-61-57-d7", "B8:27:EB:FF:FE:61:57:D7", "b827:ebff:fe61:57d7"} {
		got, err := parseEUI(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	got, err := parseEUI("::1")
	require.NoError(t, err)
	assert.Equal(t, lorawan.EUI64{7: 1}, got)
	got, err = parseEUI("1::2")
	require.NoError(t, err)
	assert.Equal(t, lorawan.EUI64{1: 1, 7: 2}, got)
	for _, s := range []string{"", "xyz", "1:2:3", "1::2::3", "12345:1:1:1", "b827ebfffe6157d", ":::"} {
		_, err := parseEUI(s)
		assert.Error(t, err, s)
	}
	n := binary.BigEndian.Uint64(want[:])
	got, err = parseRouterID(json.Number(jsonUint(n)))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func jsonUint(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestReloadRoutersAndCertificate(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, certRouter, f.cert)
	newRouter := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 3}
	tokenFile := filepath.Join(t.TempDir(), "new.key")
	require.NoError(t, os.WriteFile(tokenFile, []byte("Bearer new-router-token-0123456789\n"), 0o600))
	second := testserver.NewPKI(t) // a renewed server certificate from another CA

	c := f.s.cfg
	c.TLS.CertFile, c.TLS.KeyFile = second.ServerCertFile, second.ServerKeyFile
	c.Routers = []RouterConfig{{ID: tokenRouter, Name: "Bauhof", TokenFile: c.Routers[1].TokenFile},
		{ID: newRouter, Name: "Neu", TokenFile: tokenFile}}
	bad := c
	bad.Routers = append(bad.Routers, RouterConfig{ID: newRouter})
	require.Error(t, f.s.Reload(bad), "a bad configuration changes nothing")
	assert.True(t, f.s.Connected(certRouter))
	require.NoError(t, f.s.Reload(c))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.Next(ctx, "")
	require.Error(t, err, "the router no longer listed is disconnected")
	_, err = routertest.Discover(ctx, f.addr, certRouter, f.cert)
	require.Error(t, err, "the old CA no longer verifies the renewed certificate")
	roots := &tls.Config{RootCAs: second.CA, MinVersion: tls.VersionTLS12}
	_, err = routertest.Discover(ctx, f.addr, certRouter, Credentials{TLS: roots, Authorization: testToken})
	require.ErrorContains(t, err, refusedUnknownRouter)
	nr, err := routertest.Connect(ctx, f.addr, newRouter, Credentials{TLS: roots, Authorization: "Bearer new-router-token-0123456789"})
	require.NoError(t, err)
	defer nr.Close()
	ids := []lorawan.EUI64{}
	for _, st := range f.s.Routers() {
		ids = append(ids, st.ID)
	}
	assert.Equal(t, []lorawan.EUI64{tokenRouter, newRouter}, ids)
}

// Shutdown ends every connection, a router-info exchange that waits for
// its router too, and then closes Frames.
func TestShutdownEndsConnections(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, certRouter, f.cert)
	d := websocket.Dialer{TLSClientConfig: f.cert.TLS}
	silent, _, err := d.Dial("wss://"+f.addr+"/router-info", nil) // sends nothing
	require.NoError(t, err)
	defer silent.Close()
	start := time.Now()
	require.NoError(t, f.stop())
	assert.Less(t, time.Since(start), 3*time.Second)
	_, open := <-f.s.Frames()
	assert.False(t, open)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = r.Next(ctx, "")
	require.Error(t, err)
	assert.False(t, f.s.Connected(certRouter))
}
