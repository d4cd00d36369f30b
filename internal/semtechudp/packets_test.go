package semtechudp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

var testMAC = lorawan.EUI64{0xaa, 0x55, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x01}

func sampleRXPK() RXPK {
	ct := CompactTime(time.Date(2026, 11, 23, 16, 21, 17, 528002000, time.UTC))
	return RXPK{
		Time: &ct, Tmms: ptr(int64(1448036495528)), Tmst: 3512348611, Freq: 868.1, Chan: 2, RFCh: 0,
		Stat: 1, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -35, LSNR: 5.1, Size: 4,
		Data: []byte{0x40, 0x01, 0x02, 0x03},
	}
}

func TestPacketRoundTrip(t *testing.T) {
	stat := &Stat{
		Time: ExpandedTime(time.Date(2026, 11, 23, 8, 59, 28, 0, time.UTC)),
		Lati: ptr(46.24), Long: ptr(3.2523), Alti: ptr(int32(145)),
		RXNb: 2, RXOK: 2, RXFW: 2, ACKR: 100, DWNb: 2, TXNb: 2,
	}
	rx2 := sampleRXPK()
	rx2.Time, rx2.Tmms = nil, nil
	rx2.RSig = []RSig{{Ant: 0, Chan: 2, RSSIC: -36, LSNR: 5.5}, {Ant: 1, Chan: 2, RSSIC: -40, LSNR: 4, RSSIS: ptr(int16(-41))}}
	fsk := RXPK{Tmst: 1, Freq: 868.8, Chan: 8, Stat: 1, Modu: "FSK", DatR: DatR{FSK: 50000}, RSSI: -70, Size: 2, Data: []byte{1, 2}}
	tests := []struct {
		name string
		pkt  Packet
	}{
		{"push data v1 rxpk", &PushDataPacket{ProtocolVersion: 1, RandomToken: 0x1234, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{sampleRXPK()}}}},
		{"push data v2 rxpk+stat", &PushDataPacket{ProtocolVersion: 2, RandomToken: 0xffff, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{sampleRXPK(), rx2, fsk}, Stat: stat}}},
		{"push data v2 stat only", &PushDataPacket{ProtocolVersion: 2, RandomToken: 7, GatewayMAC: testMAC, Payload: PushDataPayload{Stat: &Stat{RXNb: 1}}}},
		{"push data empty", &PushDataPacket{ProtocolVersion: 2, RandomToken: 7, GatewayMAC: testMAC}},
		{"push ack v1", &PushAckPacket{ProtocolVersion: 1, RandomToken: 0xabcd}},
		{"push ack v2", &PushAckPacket{ProtocolVersion: 2, RandomToken: 1}},
		{"pull data v1", &PullDataPacket{ProtocolVersion: 1, RandomToken: 2, GatewayMAC: testMAC}},
		{"pull data v2", &PullDataPacket{ProtocolVersion: 2, RandomToken: 3, GatewayMAC: testMAC}},
		{"pull ack v1", &PullAckPacket{ProtocolVersion: 1, RandomToken: 4}},
		{"pull ack v2", &PullAckPacket{ProtocolVersion: 2, RandomToken: 5}},
		{"pull resp v1 immediate", &PullRespPacket{ProtocolVersion: 1, Payload: PullRespPayload{TXPK: TXPK{
			Imme: true, Freq: 869.525, RFCh: 0, Powe: 27, Modu: "LORA", DatR: DatR{LoRa: "SF12BW125"}, CodR: "4/5", IPol: true, Size: 3, Data: []byte{1, 2, 3}}}}},
		{"pull resp v2 tmst", &PullRespPacket{ProtocolVersion: 2, RandomToken: 99, Payload: PullRespPayload{TXPK: TXPK{
			Tmst: ptr(uint32(3513348611)), Freq: 868.1, Powe: 14, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5", IPol: true, Prea: 8, Size: 2, Data: []byte{9, 9}, NCRC: true}}}},
		{"pull resp v2 fsk", &PullRespPacket{ProtocolVersion: 2, RandomToken: 98, Payload: PullRespPayload{TXPK: TXPK{
			Imme: true, Freq: 868.8, Powe: 14, Modu: "FSK", DatR: DatR{FSK: 50000}, FDev: 25000, Size: 1, Data: []byte{7}}}}},
		{"tx ack v1 bare", &TxAckPacket{ProtocolVersion: 1, RandomToken: 11, GatewayMAC: testMAC}},
		{"tx ack v2 none", &TxAckPacket{ProtocolVersion: 2, RandomToken: 12, GatewayMAC: testMAC, Payload: &TxAckPayload{TXPKACK: TXPKACK{Error: "NONE"}}}},
		{"tx ack v2 too late", &TxAckPacket{ProtocolVersion: 2, RandomToken: 13, GatewayMAC: testMAC, Payload: &TxAckPayload{TXPKACK: TXPKACK{Error: "TOO_LATE"}}}},
		{"tx ack v2 warn", &TxAckPacket{ProtocolVersion: 2, RandomToken: 14, GatewayMAC: testMAC, Payload: &TxAckPayload{TXPKACK: TXPKACK{Warn: "TX_POWER", Value: ptr(20)}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.pkt.MarshalBinary()
			require.NoError(t, err)
			typ, err := ParsePacketType(b)
			require.NoError(t, err)
			assert.Equal(t, tc.pkt.Type(), typ)
			got, err := Unmarshal(b)
			require.NoError(t, err)
			assert.Equal(t, tc.pkt, got)
			// Marshal of the parsed packet is byte-identical.
			b2, err := got.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, b, b2)
		})
	}
}

func TestMarshalRejectsBadVersion(t *testing.T) {
	for _, p := range []Packet{&PushDataPacket{}, &PushAckPacket{}, &PullDataPacket{}, &PullAckPacket{}, &PullRespPacket{}, &TxAckPacket{ProtocolVersion: 3}} {
		_, err := p.MarshalBinary()
		assert.ErrorIs(t, err, ErrVersion, "%T", p)
	}
}

func TestWireLayout(t *testing.T) {
	b, err := (&PullDataPacket{ProtocolVersion: 2, RandomToken: 0x1234, GatewayMAC: testMAC}).MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x02, 0x12, 0x34, 0x02, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}, b)

	b, err = (&PushDataPacket{ProtocolVersion: 1, RandomToken: 1, GatewayMAC: testMAC,
		Payload: PushDataPayload{RXPK: []RXPK{sampleRXPK()}}}).MarshalBinary()
	require.NoError(t, err)
	var raw map[string][]map[string]any
	require.NoError(t, json.Unmarshal(b[12:], &raw))
	rx := raw["rxpk"][0]
	assert.Equal(t, "2026-11-23T16:21:17.528002Z", rx["time"])
	assert.Equal(t, "SF7BW125", rx["datr"])
	assert.Equal(t, "QAECAw==", rx["data"])
	assert.InDelta(t, 868.1, rx["freq"], 1e-9)

	b, err = json.Marshal(Stat{Time: ExpandedTime(time.Date(2014, 1, 12, 8, 59, 28, 0, time.UTC))})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"time":"2014-01-12 08:59:28 GMT"`)
	b, err = json.Marshal(DatR{FSK: 50000})
	require.NoError(t, err)
	assert.Equal(t, "50000", string(b))
}

func TestUnmarshalErrors(t *testing.T) {
	hdr := func(v, typ byte) []byte { return []byte{v, 0x01, 0x02, typ, 1, 2, 3, 4, 5, 6, 7, 8} }
	push := func(js string) []byte { return append(hdr(2, 0), js...) }
	tests := []struct {
		name   string
		in     []byte
		want   error
		reason string
	}{
		{"empty", nil, ErrShort, "short"},
		{"three bytes", []byte{2, 0, 0}, ErrShort, "short"},
		{"version 0", hdr(0, 0), ErrVersion, "unknown_version"},
		{"version 3", hdr(3, 2), ErrVersion, "unknown_version"},
		{"type 6", hdr(2, 6), ErrPacketType, "unknown_type"},
		{"pull data short", hdr(2, 2)[:11], ErrShort, "short"},
		{"push data no json", hdr(2, 0), ErrShort, "short"},
		{"push data bad json", push(`{"rxpk":[`), ErrJSON, "bad_json"},
		{"push data wrong json type", push(`{"rxpk":{}}`), ErrJSON, "bad_json"},
		{"push data bad base64", push(`{"rxpk":[{"stat":1,"size":3,"data":"!!!!"}]}`), ErrBase64, "bad_base64"},
		{"push data size mismatch", push(`{"rxpk":[{"stat":1,"size":5,"data":"QAECAw=="}]}`), ErrSizeMismatch, "size_mismatch"},
		{"push data bad datr", push(`{"rxpk":[{"datr":true}]}`), ErrJSON, "bad_json"},
		{"push data bad time", push(`{"rxpk":[{"time":"yesterday"}]}`), ErrJSON, "bad_json"},
		{"push data bad stat time", push(`{"stat":{"time":"noon"}}`), ErrJSON, "bad_json"},
		{"tx ack bad json", append(hdr(2, 5), `{"txpk_ack":`...), ErrJSON, "bad_json"},
		{"pull resp size mismatch", append([]byte{2, 0, 1, 3}, `{"txpk":{"size":2,"data":"AQ=="}}`...), ErrSizeMismatch, "size_mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal(tc.in)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.reason, Reason(err))
		})
	}
	err := (&PushAckPacket{}).UnmarshalBinary(hdr(2, 4))
	assert.ErrorIs(t, err, ErrWrongType)
}

func TestUnmarshalLenient(t *testing.T) {
	// Unpadded base64, trailing NUL, and a stat in RFC 3339 are accepted.
	b := append([]byte{1, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8},
		`{"rxpk":[{"stat":1,"size":4,"data":"QAECAw"}],"stat":{"time":"2026-11-23T08:00:00Z"}}`+"\x00"...)
	p, err := Unmarshal(b)
	require.NoError(t, err)
	pd := p.(*PushDataPacket)
	assert.Equal(t, []byte{0x40, 1, 2, 3}, pd.Payload.RXPK[0].Data)
	assert.Equal(t, time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), time.Time(pd.Payload.Stat.Time))

	// A TX_ACK with only a NUL after the MAC is a bare success.
	p, err = Unmarshal([]byte{2, 0, 1, 5, 1, 2, 3, 4, 5, 6, 7, 8, 0})
	require.NoError(t, err)
	assert.Nil(t, p.(*TxAckPacket).Payload)
	assert.NoError(t, p.(*TxAckPacket).Err())
}

func TestTxAckErr(t *testing.T) {
	assert.NoError(t, TxAckErr(""))
	assert.NoError(t, TxAckErr("NONE"))
	for _, c := range []TxAckError{ErrTxTooLate, ErrTxTooEarly, ErrTxCollisionPacket, ErrTxCollisionBeacon, ErrTxFreq, ErrTxPower, ErrTxGPSUnlocked} {
		err := TxAckErr(string(c))
		assert.ErrorIs(t, err, c)
		assert.Equal(t, c.Code(), string(c))
	}
	assert.EqualError(t, TxAckErr("WHATEVER"), "tx ack: WHATEVER")
}

func TestFrequencyHz(t *testing.T) {
	assert.Equal(t, uint32(868100000), RXPK{Freq: 868.1}.FrequencyHz())
	assert.Equal(t, uint32(869525000), RXPK{Freq: 869.525}.FrequencyHz())
}

// TestTestdata parses every captured-style datagram under testdata/.
func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bin")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			p, err := Unmarshal(b)
			if strings.HasPrefix(filepath.Base(f), "bad_") {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			out, err := p.MarshalBinary()
			require.NoError(t, err)
			p2, err := Unmarshal(out)
			require.NoError(t, err)
			assert.Equal(t, p, p2)
		})
	}
}

func TestTestdataPushDataContents(t *testing.T) {
	b, err := os.ReadFile("testdata/push_data_v2_two_rxpk_stat.bin")
	require.NoError(t, err)
	var p PushDataPacket
	require.NoError(t, p.UnmarshalBinary(b))
	assert.Equal(t, ProtocolVersion2, p.ProtocolVersion)
	assert.Equal(t, uint16(0x8a3c), p.RandomToken)
	assert.Equal(t, "b827ebfffe6128a1", p.GatewayMAC.String())
	require.Len(t, p.Payload.RXPK, 2)
	lora, fsk := p.Payload.RXPK[0], p.Payload.RXPK[1]
	require.NotNil(t, lora.Time)
	assert.Equal(t, time.Date(2026, 11, 23, 16, 21, 17, 528002000, time.UTC), time.Time(*lora.Time))
	assert.Equal(t, uint32(868500000), lora.FrequencyHz())
	assert.Equal(t, DatR{LoRa: "SF7BW125"}, lora.DatR)
	assert.Equal(t, int16(-47), lora.RSSI)
	assert.InDelta(t, 9.8, lora.LSNR, 1e-9)
	assert.Len(t, lora.Data, 23)
	assert.Equal(t, byte(0x40), lora.Data[0], "unconfirmed data up MHDR")
	assert.Equal(t, DatR{FSK: 50000}, fsk.DatR)
	assert.Equal(t, "TEST_PACKET_1234", string(fsk.Data))
	st := p.Payload.Stat
	require.NotNil(t, st)
	assert.Equal(t, time.Date(2026, 11, 23, 16, 21, 10, 0, time.UTC), time.Time(st.Time))
	assert.InDelta(t, 48.1371, *st.Lati, 1e-9)
	assert.Equal(t, int32(519), *st.Alti)
	assert.Equal(t, uint32(2), st.RXFW)
	assert.InDelta(t, 100.0, st.ACKR, 1e-9)
}
