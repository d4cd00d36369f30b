package roaming

import (
	"encoding/json"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func samplePRStartReq() *PRStartReq {
	var m PRStartReq
	m.ProtocolVersion = ProtocolVersion11
	m.SenderID, m.ReceiverID = "000000", "000000"
	m.SenderNSID, m.ReceiverNSID = nsidB.String(), nsidA.String()
	m.TransactionID = 1234
	m.MessageType = backend.PRStartReq
	m.PHYPayload = backend.HEXBytes{0x40, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd}
	m.ULMetaData = backend.ULMetaData{
		DevAddr: &lorawan.DevAddr{0x04, 0x03, 0x02, 0x01}, DataRate: ptr(5), ULFreq: ptr(868.1),
		RecvTime: backend.ISO8601Time(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)), RFRegion: "EU868", GWCnt: ptr(1),
		GWInfo: []backend.GWInfoElement{{ID: backend.HEXBytes{1, 2, 3, 4, 5, 6, 7, 8}, RFRegion: "EU868", RSSI: ptr(-90),
			SNR: ptr(7.5), ULToken: backend.HEXBytes{9, 9}, DLAllowed: true}},
	}
	return &m
}

// keys returns the JSON object keys of v, nested objects as "a.b".
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			out = append(out, prefix+k)
			switch v := v.(type) {
			case map[string]any:
				walk(prefix+k+".", v)
			case []any:
				if len(v) > 0 {
					if o, ok := v[0].(map[string]any); ok {
						walk(prefix+k+"[].", o)
					}
				}
			}
		}
	}
	walk("", m)
	sort.Strings(out)
	return out
}

// The messages use the field names of TS002 (Backend Interfaces 1.1).
func TestMessageFieldNames(t *testing.T) {
	ans := &PRStartAns{}
	ans.ProtocolVersion, ans.MessageType, ans.TransactionID = ProtocolVersion11, backend.PRStartAns, 1234
	ans.SenderNSID, ans.ReceiverNSID = nsidA.String(), nsidB.String()
	ans.Result = backend.Result{ResultCode: ResultSuccess}
	ans.PHYPayload = backend.HEXBytes{0x20, 1}
	ans.Lifetime = ptr(0)
	ans.DLMetaData = &backend.DLMetaData{DLFreq1: ptr(868.1), DataRate1: ptr(5), RXDelay1: ptr(5), ClassMode: ptr("A"),
		GWInfo: []backend.GWInfoElement{{ULToken: backend.HEXBytes{9}}}}
	xreq := &XmitDataReq{}
	xreq.ProtocolVersion, xreq.MessageType = ProtocolVersion11, backend.XmitDataReq
	xreq.PHYPayload = backend.HEXBytes{0x60}
	xreq.DLMetaData = &backend.DLMetaData{DLFreq2: ptr(869.525), DataRate2: ptr(0), ClassMode: ptr("A"),
		GWInfo: []backend.GWInfoElement{{ULToken: backend.HEXBytes{9}}}}
	xans := &XmitDataAns{}
	xans.MessageType = backend.XmitDataAns
	xans.Result = backend.Result{ResultCode: ResultXmitFailed, Description: "TOO_LATE"}
	// VSExtension is optional in TS002; brocaar's type always writes it ({}).
	base := []string{"MessageType", "ProtocolVersion", "ReceiverID", "SenderID", "TransactionID", "VSExtension"}
	tests := []struct {
		name string
		msg  any
		want []string
	}{
		{"PRStartReq", samplePRStartReq(), append([]string{"PHYPayload", "ReceiverNSID", "SenderNSID", "ULMetaData",
			"ULMetaData.DataRate", "ULMetaData.DevAddr", "ULMetaData.GWCnt", "ULMetaData.GWInfo",
			"ULMetaData.GWInfo[].DLAllowed", "ULMetaData.GWInfo[].ID", "ULMetaData.GWInfo[].RFRegion", "ULMetaData.GWInfo[].RSSI",
			"ULMetaData.GWInfo[].SNR", "ULMetaData.GWInfo[].ULToken", "ULMetaData.RFRegion", "ULMetaData.RecvTime", "ULMetaData.ULFreq"}, base...)},
		{"PRStartAns", ans, append([]string{"DLMetaData", "DLMetaData.ClassMode", "DLMetaData.DLFreq1", "DLMetaData.DataRate1",
			"DLMetaData.GWInfo", "DLMetaData.GWInfo[].ULToken", "DLMetaData.RXDelay1", "Lifetime", "PHYPayload",
			"ReceiverNSID", "Result", "Result.Description", "Result.ResultCode", "SenderNSID"}, base...)},
		{"XmitDataReq", xreq, append([]string{"DLMetaData", "DLMetaData.ClassMode", "DLMetaData.DLFreq2", "DLMetaData.DataRate2",
			"DLMetaData.GWInfo", "DLMetaData.GWInfo[].ULToken", "PHYPayload"}, base...)},
		{"XmitDataAns", xans, append([]string{"Result", "Result.Description", "Result.ResultCode"}, base...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sort.Strings(tt.want)
			assert.Equal(t, tt.want, keys(t, tt.msg))
		})
	}
	// Hex without 0x, frequencies in MHz, times in RFC 3339.
	b, err := json.Marshal(samplePRStartReq())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"PHYPayload":"400102030400010001aabbccdd"`)
	assert.Contains(t, string(b), `"DevAddr":"04030201"`)
	assert.Contains(t, string(b), `"ULFreq":868.1`)
	assert.Contains(t, string(b), `"RecvTime":"2026-12-07T06:00:00Z"`)
	assert.Contains(t, string(b), `"SenderNSID":"0016c001ff100002"`)
}

func TestResultCodesPerVersion(t *testing.T) {
	tests := []struct {
		code       backend.ResultCode
		v10, v11   string
		normalised backend.ResultCode
	}{
		{ResultSuccess, "Success", "Success", ResultSuccess},
		{ResultMICFailed, "MICFailed", "MICFailed", ResultMICFailed},
		{ResultUnknownSender, "UnknownSender", "UnknownSender", ResultUnknownSender},
		{ResultUnknownReceiver, "UnkownReceiver", "UnknownReceiver", ResultUnknownReceiver},
		{ResultMalformedMessage, "MalformedRequest", "MalformedMessage", ResultMalformedMessage},
		{ResultFrameReplayed, "Other", "FrameReplayed", ResultOther}, // 1.0 has no such code
		{ResultXmitFailed, "XmitFailed", "XmitFailed", ResultXmitFailed},
		{ResultUnknownDevAddr, "UnknownDevAddr", "UnknownDevAddr", ResultUnknownDevAddr},
		{ResultInvalidProtocol, "InvalidProtocolVersion", "InvalidProtocolVersion", ResultInvalidProtocol},
		{ResultFrameSizeError, "FrameSizeError", "FrameSizeError", ResultFrameSizeError},
		{ResultDeferred, "Deferred", "Deferred", ResultDeferred},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.v10, string(ResultCode(ProtocolVersion10, tt.code)), tt.code)
		assert.Equal(t, tt.v11, string(ResultCode(ProtocolVersion11, tt.code)), tt.code)
		assert.Equal(t, tt.normalised, NormalResult(ResultCode(ProtocolVersion10, tt.code)), tt.code)
	}
}

func TestParse(t *testing.T) {
	good, err := json.Marshal(samplePRStartReq())
	require.NoError(t, err)
	m, err := Parse(good)
	require.NoError(t, err)
	req, ok := m.(*PRStartReq)
	require.True(t, ok)
	assert.Equal(t, *samplePRStartReq(), *req)

	v10 := `{"ProtocolVersion":"1.0","SenderID":"000000","ReceiverID":"000000","TransactionID":7,"MessageType":"XmitDataAns","Result":{"ResultCode":"UnkownReceiver"}}`
	m, err = Parse([]byte(v10))
	require.NoError(t, err, "a 1.0 peer without NSIDs is read")
	assert.Equal(t, ResultUnknownReceiver, NormalResult(m.(*XmitDataAns).Result.ResultCode))

	tests := map[string]struct {
		in   string
		code backend.ResultCode
	}{
		"not json":           {`{"ProtocolVersion":`, ResultMalformedMessage},
		"version 2.0":        {`{"ProtocolVersion":"2.0","TransactionID":1,"MessageType":"PRStartReq"}`, ResultInvalidProtocol},
		"no transaction":     {`{"ProtocolVersion":"1.0","MessageType":"PRStartReq"}`, ResultMalformedMessage},
		"1.1 without NSID":   {`{"ProtocolVersion":"1.1","TransactionID":1,"MessageType":"PRStartReq"}`, ResultMalformedMessage},
		"bad receiver NSID":  {`{"ProtocolVersion":"1.1","SenderNSID":"0016c001ff100002","ReceiverNSID":"xyz","TransactionID":1,"MessageType":"PRStartReq"}`, ResultMalformedMessage},
		"unknown type":       {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"HRStartReq"}`, ResultMalformedMessage},
		"no PHYPayload":      {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"PRStartReq","ULMetaData":{"RecvTime":"2026-12-07T06:00:00Z"}}`, ResultFrameSizeError},
		"bad hex":            {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"PRStartReq","PHYPayload":"zz"}`, ResultMalformedMessage},
		"bad time":           {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"PRStartReq","PHYPayload":"40","ULMetaData":{"RecvTime":"yesterday"}}`, ResultMalformedMessage},
		"xmit without DL":    {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"XmitDataReq","PHYPayload":"60"}`, ResultMalformedMessage},
		"xmit no gateway":    {`{"ProtocolVersion":"1.0","TransactionID":1,"MessageType":"XmitDataReq","PHYPayload":"60","DLMetaData":{"GWInfo":[]}}`, ResultMalformedMessage},
		"transaction string": {`{"ProtocolVersion":"1.0","TransactionID":"1","MessageType":"PRStartReq"}`, ResultMalformedMessage},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Equal(t, tt.code, pe.Code)
		})
	}
	big := make([]byte, MaxMessageBytes+1)
	_, err = Parse(big)
	assert.ErrorContains(t, err, "over")
}

// FuzzParse: any input is a message or a ParseError, never a panic; a
// parsed message marshals to JSON that parses to the same message.
func FuzzParse(f *testing.F) {
	good, _ := json.Marshal(samplePRStartReq())
	f.Add(good)
	f.Add([]byte(`{"ProtocolVersion":"1.0","SenderID":"000000","ReceiverID":"000000","TransactionID":7,"MessageType":"XmitDataAns","Result":{"ResultCode":"UnkownReceiver"}}`))
	f.Add([]byte(`{"ProtocolVersion":"1.1","SenderNSID":"0016c001ff100002","TransactionID":1,"MessageType":"XmitDataReq","PHYPayload":"60","DLMetaData":{"DLFreq1":868.1,"DataRate1":5,"GWInfo":[{"ULToken":"0909"}]}}`))
	f.Add([]byte(`{"ProtocolVersion":"1.1","SenderNSID":"0016c001ff100001","TransactionID":1,"MessageType":"PRStartAns","Result":{"ResultCode":"Success"},"PHYPayload":"20","DLMetaData":{"GWInfo":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			return
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := Parse(b)
		require.NoError(t, err, "%s", b)
		b2, err := json.Marshal(m2)
		require.NoError(t, err)
		assert.JSONEq(t, string(b), string(b2))
	})
}
