package adeunis_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/adeunis"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

func decoder(t testing.TB, opts map[string]any) codec.Decoder {
	t.Helper()
	d, err := adeunis.New(opts)
	require.NoError(t, err)
	return d
}

func input(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: 1, Bytes: b}
}

func TestExamples(t *testing.T) {
	for _, e := range codectest.Examples(t, "Adeunis", "Pulse 4") {
		res, err := decoder(t, nil).Decode(e.Input(1))
		require.NoError(t, err)
		codectest.AssertFields(t, e.Expected, res.Fields)
	}
}

func TestBackwardDeltasDated(t *testing.T) {
	e := codectest.Examples(t, "Adeunis", "Pulse 4")[0]
	res, err := decoder(t, map[string]any{"history_interval": "1h"}).Decode(e.Input(1))
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	ts := time.Date(2023, 12, 28, 19, 22, 17, 0, time.UTC)
	var got []codec.Value
	for _, v := range res.Values {
		if v.Field == "counterValues" {
			got = append(got, v)
		}
	}
	require.Len(t, got, 5)
	for k, want := range []float64{295, 294, 292, 289, 285} {
		assert.Equal(t, want, got[k].Value)
		assert.Equal(t, 1, got[k].Channel)
		assert.Equal(t, ts.Add(-time.Duration(k)*time.Hour), got[k].Time, k)
	}
}

func TestFrames(t *testing.T) {
	recv := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC)
	d := decoder(t, map[string]any{"history_interval": "10m"})

	// 0x5b channel B without timestamp: dated from the receive time.
	in := input("5b2100001000000a0005")
	in.RecvTime = recv
	res, err := d.Decode(in)
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"bytes": map[string]any{"counterValues": []any{4096.0, 4086.0, 4081.0}}}, res.Fields)
	last := res.Values[len(res.Values)-1]
	assert.Equal(t, 2, last.Channel)
	assert.Equal(t, recv.Add(-20*time.Minute), last.Time)

	// 0x46 both counters with timestamp.
	res, err = d.Decode(input("46040000007b000001c814aba3e9"))
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"bytes": map[string]any{
		"counterValues": []any{123.0, 456.0}, "timestamp": "2023-12-28T19:22:17.000",
	}}, res.Fields)
	a, _ := codectest.ValueOf(res, "counterValues", 1)
	assert.Equal(t, 2023, a.Time.Year())

	// keep-alive with tamper on B.
	res, err = d.Decode(input("3000080001000200030004"))
	require.NoError(t, err)
	v, _ := codectest.ValueOf(res, "tamperAlarm", 2)
	assert.Equal(t, 1.0, v.Value)

	// configuration frames are recognised but not decoded.
	res, err = d.Decode(input("1001"))
	require.NoError(t, err)
	assert.NotEmpty(t, res.Warnings)
}

func TestNoIntervalWarns(t *testing.T) {
	e := codectest.Examples(t, "Adeunis", "Pulse 4")[0]
	res, err := decoder(t, nil).Decode(e.Input(1))
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	n := 0
	for _, v := range res.Values {
		if v.Field == "counterValues" {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

func TestErrors(t *testing.T) {
	d := decoder(t, nil)
	for h, want := range map[string]error{
		"":                             codec.ErrTruncated,
		"5a":                           codec.ErrTruncated,
		"5a2000000127":                 nil,
		"5a200000012700":               codec.ErrFormat,
		"5a6700000127":                 codec.ErrTruncated, // timestamp bit set, no timestamp
		"46000000007b":                 codec.ErrTruncated,
		"ff00":                         codec.ErrFormat,
		"4604000000ff000001c814aba3e9": nil,
	} {
		_, err := d.Decode(input(h))
		if want == nil {
			assert.NoError(t, err, h)
		} else {
			assert.ErrorIs(t, err, want, h)
		}
	}
	_, err := adeunis.New(map[string]any{"history_interval": "soon"})
	assert.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Adeunis", "Pulse 4")
	f.Add(uint8(1), []byte{0x46, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3})
	d := decoder(f, map[string]any{"history_interval": "10m"})
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		_, _ = d.Decode(codec.Input{FPort: port, Bytes: b, RecvTime: time.Unix(1700000000, 0)})
	})
}

func BenchmarkDecode(b *testing.B) {
	in := codectest.Examples(b, "Adeunis", "Pulse 4")[0].Input(1)
	d := decoder(b, map[string]any{"history_interval": "10m"})
	codectest.Bench(b, d, in)
}
