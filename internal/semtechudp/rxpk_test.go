package semtechudp

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodRXPK is a complete rxpk as an SX1302 forwarder writes it; %s is
// spliced in as extra or overriding fields.
const goodRXPK = `{"jver":1,"tmst":3512348611,"chan":2,"rfch":0,"freq":868.500000,"mid":8,"stat":1,` +
	`"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssis":-43,"lsnr":7.5,"foff":-1227,"rssi":-43,` +
	`"time":"2026-11-23T08:00:00.123456Z","tmms":1447916418123,"size":4,"data":"QAECAw=="%s}`

func pushJSON(rxpks ...string) []byte {
	js := `{"rxpk":[`
	for i, r := range rxpks {
		if i > 0 {
			js += ","
		}
		js += r
	}
	return append([]byte{2, 0x12, 0x34, 0, 1, 2, 3, 4, 5, 6, 7, 8}, js+`]}`...)
}

// Each bad field of an rxpk, on its own: an essential one rejects the rxpk
// under its reason, an optional one is dropped and the frame kept.
func TestParsePushDataPerField(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		reason  string // rejected with this reason, or
		dropped string // this field dropped
	}{
		{"bad base64", `,"data":"QA*CAw=="`, "bad_base64", ""},
		{"data a number", `,"data":12`, "bad_json", ""},
		{"size mismatch", `,"size":5`, "size_mismatch", ""},
		{"size a string", `,"size":"4"`, "bad_json", ""},
		{"freq a string", `,"freq":"868.5"`, "bad_json", ""},
		{"tmst negative", `,"tmst":-1`, "bad_json", ""},
		{"tmst beyond 32 bits", `,"tmst":4294967296`, "bad_json", ""},
		{"stat a string", `,"stat":"ok"`, "bad_json", ""},
		{"datr a bool", `,"datr":true`, "bad_json", ""},
		{"rssi a float string", `,"rssi":"-43"`, "bad_json", ""},
		{"chan 300", `,"chan":300`, "bad_json", ""},
		{"time with a space", `,"time":"2026-11-23 08:00:00.123456Z"`, "", "time"},
		{"time a number", `,"time":1700000000`, "", "time"},
		{"time without zone", `,"time":"2026-11-23T08:00:00"`, "", "time"},
		{"tmms a string", `,"tmms":"1447916418123"`, "", "tmms"},
		{"rssis a string", `,"rssis":"-43"`, "", "rssis"},
		{"lsnr a string", `,"lsnr":"7.5"`, "", "lsnr"},
		{"foff a float", `,"foff":1.5`, "", "foff"},
		{"brd negative", `,"brd":-1`, "", "brd"},
		{"codr a number", `,"codr":45`, "", "codr"},
		{"rsig an object", `,"rsig":{}`, "", "rsig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := pushJSON(fmt.Sprintf(goodRXPK, tc.extra))
			p, issues, err := ParsePushData(b)
			require.NoError(t, err)
			assert.Equal(t, uint16(0x1234), p.RandomToken)
			if tc.reason != "" {
				require.Len(t, issues.Rejected, 1)
				assert.Equal(t, tc.reason, Reason(issues.Rejected[0]))
				assert.Empty(t, p.Payload.RXPK)
				// The strict parser refuses the same datagram.
				assert.Error(t, (&PushDataPacket{}).UnmarshalBinary(b))
				return
			}
			assert.Empty(t, issues.Rejected)
			require.Len(t, issues.Dropped, 1)
			assert.Equal(t, tc.dropped, issues.Dropped[0].Field)
			assert.Equal(t, 0, issues.Dropped[0].Index)
			require.Len(t, p.Payload.RXPK, 1)
			rx := p.Payload.RXPK[0]
			assert.Equal(t, []byte{0x40, 1, 2, 3}, rx.Data, "the frame is kept")
			assert.Equal(t, uint32(3512348611), rx.Tmst)
			assert.Equal(t, uint32(868500000), rx.FrequencyHz())
			switch tc.dropped {
			case "time":
				assert.Nil(t, rx.Time)
			case "tmms":
				assert.Nil(t, rx.Tmms)
			case "rssis":
				assert.Nil(t, rx.RSSIS)
			case "lsnr":
				assert.Zero(t, rx.LSNR)
			}
			if tc.dropped != "time" {
				require.NotNil(t, rx.Time)
				assert.Equal(t, time.Date(2026, 11, 23, 8, 0, 0, 123456000, time.UTC), time.Time(*rx.Time))
			}
			assert.ErrorIs(t, (&PushDataPacket{}).UnmarshalBinary(b), ErrJSON, "strict parsing refuses a bad field")
		})
	}
}

func TestParsePushDataEnvelope(t *testing.T) {
	// A bad stat object is dropped; the rxpk stay.
	b := append([]byte{2, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8}, `{"rxpk":[`+fmt.Sprintf(goodRXPK, "")+`],"stat":{"time":"noon"}}`...)
	p, issues, err := ParsePushData(b)
	require.NoError(t, err)
	assert.Len(t, p.Payload.RXPK, 1)
	assert.Nil(t, p.Payload.Stat)
	require.Len(t, issues.Dropped, 1)
	assert.Equal(t, FieldError{Index: -1, Field: "stat_object", Err: issues.Dropped[0].Err}, issues.Dropped[0])

	// An rxpk that is not an object is rejected; its neighbours are kept.
	p, issues, err = ParsePushData(pushJSON(`7`, fmt.Sprintf(goodRXPK, ""), `null`))
	require.NoError(t, err)
	require.Len(t, issues.Rejected, 1)
	assert.Equal(t, "bad_json", Reason(issues.Rejected[0]))
	assert.Len(t, p.Payload.RXPK, 2, "the good rxpk and the empty null one")

	// Invalid JSON: the header is still returned for the ACK.
	p, _, err = ParsePushData(append([]byte{2, 0xab, 0xcd, 0, 1, 2, 3, 4, 5, 6, 7, 8}, `{"rxpk":[`...))
	require.ErrorIs(t, err, ErrJSON)
	assert.Equal(t, uint16(0xabcd), p.RandomToken)

	// A header error is no PUSH_DATA at all.
	_, _, err = ParsePushData([]byte{2, 0, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8, '{'})
	assert.ErrorIs(t, err, ErrWrongType)
}

// One bad and two good rxpk in a PUSH_DATA over a real socket: the two are
// delivered, the datagram is acknowledged, the bad one counted.
func TestServerOneBadTwoGoodRXPK(t *testing.T) {
	s := startServer(t, Options{})
	g := newGW(t, s, testMAC)
	good1 := `{"tmst":1000,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","rssi":-80,"lsnr":5,"size":1,"data":"AQ=="}`
	bad := `{"tmst":2000,"freq":"868.3","stat":1,"modu":"LORA","datr":"SF7BW125","size":1,"data":"Ag=="}`
	good2 := `{"tmst":3000,"freq":868.5,"stat":1,"modu":"LORA","datr":"SF9BW125","rssi":-90,"lsnr":"x","size":1,"data":"Aw=="}`
	b := append([]byte{2, 0x77, 0x01, 0}, testMAC[:]...)
	b = append(b, `{"rxpk":[`+good1+","+bad+","+good2+`]}`...)
	g.sendRaw(b)
	assert.Equal(t, &PushAckPacket{ProtocolVersion: 2, RandomToken: 0x7701}, g.recv())
	f1, f2 := recvFrame(t, s), recvFrame(t, s)
	assert.Equal(t, []byte{1}, f1.RXPK.Data)
	assert.Equal(t, []byte{3}, f2.RXPK.Data)
	assert.Equal(t, "SF9BW125", f2.RXPK.DatR.LoRa)
	assert.InDelta(t, 1, testutil.ToFloat64(s.m.malformed.WithLabelValues("bad_json")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(s.m.fieldsDropped.WithLabelValues("lsnr")), 0)
	assert.InDelta(t, 2, testutil.ToFloat64(s.m.framesReceived), 0)
	st, ok := s.Gateway(testMAC)
	require.True(t, ok)
	assert.Equal(t, uint64(2), st.RXReceived)
	assert.Equal(t, uint64(1), st.RXRejected)
}
