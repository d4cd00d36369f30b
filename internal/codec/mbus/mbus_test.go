package mbus

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

func TestParseHeaders(t *testing.T) {
	// DIF 0xC4 (32-bit, storage bit, extension), DIFE 0x93 (storage 3,
	// tariff 1, extension), DIFE 0x40 (subunit 1); VIF 0x93 VIFE 0x3C;
	// then a filler, a plain-text VIF record and manufacturer data.
	b := codectest.Hex(t, "c4 93 40 93 3c 01020304"+"2f"+"01 7c 03 41 42 43 05"+"0f aabb")
	recs, err := Parse(b)
	require.NoError(t, err)
	require.Len(t, recs.Records, 2)
	r := recs.Records[0]
	assert.Equal(t, uint64(1|3<<1), r.Storage)
	assert.Equal(t, uint32(1), r.Tariff)
	assert.Equal(t, uint32(1<<1), r.Subunit)
	assert.Equal(t, []byte{0x3c}, r.VIFE)
	assert.Equal(t, []byte{1, 2, 3, 4}, r.Data)
	assert.Equal(t, "Reverse Volume", Describe(r.VIF, r.VIFE).Type)
	assert.Equal(t, "CBA", recs.Records[1].PlainUnit)
	assert.Equal(t, []byte{5}, recs.Records[1].Data)
	assert.Equal(t, []byte{0xaa, 0xbb}, recs.Manufacturer)
	assert.False(t, recs.MoreFollows)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		hex   string
		isErr error
	}{
		{"04", codec.ErrTruncated},
		{"0413", codec.ErrTruncated},
		{"041301", codec.ErrTruncated},
		{"84", codec.ErrTruncated},
		{"0493", codec.ErrTruncated},
		{"7f", ErrSpecialFunction},
		{"0d13", codec.ErrTruncated},
		{"0d13f5", codec.ErrFormat},
		{"0d1305aa", codec.ErrTruncated},
		{"84" + strings.Repeat("80", 11) + "00 13 00000000", codec.ErrFormat},
		{"04" + "93" + strings.Repeat("80", 11) + "00 00000000", codec.ErrFormat},
		{"017c05414243", codec.ErrTruncated},
	} {
		_, err := Parse(codectest.Hex(t, tc.hex))
		assert.ErrorIs(t, err, tc.isErr, tc.hex)
	}
}

func TestRawValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hex    string
		signed bool
		want   int64
		valid  bool
	}{
		{"int8 -1", "0165ff", true, -1, true},
		{"int8 most negative invalid", "016580", true, 0, false},
		{"int16 LE", "02653412", true, 0x1234, true},
		{"int24 negative", "0365feffff", true, -2, true},
		{"uint32 all ones invalid", "0413ffffffff", false, 0, false},
		{"uint32", "041378563412", false, 0x12345678, true},
		{"int48 most negative invalid", "0613000000000080", true, 0, false},
		{"int48", "0613010000000080", true, -0x7fffffffffff, true},
		{"int64", "07130100000000000000", false, 1, true},
		{"BCD 8", "0c1378563412", false, 12345678, true},
		{"BCD negative", "0a13 21f0", false, -21, true},
		{"BCD bad digit", "0a13 2a00", false, 0, false},
		{"BCD 12", "0e13 563412000000", false, 123456, true},
		{"LVAR BCD", "0d13 c2 3412", false, 1234, true},
		{"LVAR negative BCD", "0d13 d1 09", false, -9, true},
		{"LVAR binary", "0d13 e2 3412", false, 0x1234, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Parse(codectest.Hex(t, tc.hex))
			require.NoError(t, err)
			require.Len(t, recs.Records, 1)
			v, valid, err := recs.Records[0].Raw(tc.signed)
			require.NoError(t, err)
			assert.Equal(t, tc.valid, valid)
			if tc.valid {
				assert.Equal(t, tc.want, v)
			}
		})
	}
	recs, err := Parse(codectest.Hex(t, "0513 0000c03f"))
	require.NoError(t, err)
	f, ok := recs.Records[0].Float()
	require.True(t, ok)
	assert.Equal(t, 1.5, f)
	_, _, err = recs.Records[0].Raw(false)
	assert.ErrorIs(t, err, codec.ErrFormat)
}

func TestTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want time.Time
		ok   bool
	}{
		{"type F", "046d 00331837", time.Date(2024, 7, 24, 19, 0, 0, 0, time.UTC), true},
		{"type F invalid flag", "046d 80331837", time.Time{}, false},
		{"type F 31 April", "046d 1e0a3f34", time.Time{}, false},
		{"type F hundred bits 0, year 23", "046d 0c08fd28", time.Date(2023, 8, 29, 8, 12, 0, 0, time.UTC), true},
		{"type G", "026c 1f37", time.Date(2024, 7, 31, 0, 0, 0, 0, time.UTC), true},
		{"type G all ones", "026c ffff", time.Time{}, false},
		{"type G 30 February", "026c 1e32", time.Time{}, false},
		{"type I", "066d 0530121f3803", time.Date(2024, 8, 31, 18, 48, 5, 0, time.UTC), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Parse(codectest.Hex(t, tc.hex))
			require.NoError(t, err)
			got, ok := recs.Records[0].Time(time.UTC)
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		vif  byte
		vife []byte
		want Desc
	}{
		{0x06, nil, Desc{Type: "Energy", Unit: "Wh", Exp: 3}},
		{0x13, nil, Desc{Type: "Volume", Unit: "m3", Exp: -3}},
		{0x93, []byte{0x13}, Desc{Type: "Volume", Unit: "m3", Exp: -3, Profile: true}},
		{0x96, []byte{0x75}, Desc{Type: "Volume", Unit: "m3", Exp: -1}},
		{0x2e, nil, Desc{Type: "Power", Unit: "W", Exp: 3, Signed: true}},
		{0x3b, nil, Desc{Type: "Volume flow", Unit: "m3/h", Exp: -3, Signed: true}},
		{0x59, nil, Desc{Type: "Flow temperature", Unit: "°C", Exp: -2, Signed: true}},
		{0x5d, nil, Desc{Type: "Return temperature", Unit: "°C", Exp: -2, Signed: true}},
		{0x22, nil, Desc{Type: "On time", Unit: "h"}},
		{0x6d, nil, Desc{Type: "Date time", Kind: DateTime}},
		{0x78, nil, Desc{Type: "Fabrication no", Unit: "NA", Kind: Identifier}},
		{0xfd, []byte{0x17}, Desc{Type: "Error flags", Unit: "NA", Kind: Bits}},
		{0xfd, []byte{0x48}, Desc{Type: "Voltage", Unit: "V", Exp: -1}},
		{0xfd, nil, Desc{Type: "VIF FD 0xFF", Unit: "NA"}},
		{0xfb, []byte{0x01}, Desc{Type: "Energy", Unit: "Wh", Exp: 6}},
		{0xff, []byte{0x25}, Desc{Type: "Infocode", Unit: "NA", Kind: Infocode}},
		{0xff, []byte{0x1c}, Desc{Type: "ALD last day", Unit: "NA", InvalidAt: 4095}},
		{0xff, []byte{0x16}, Desc{Type: "Module type/config number", Unit: "NA"}},
	} {
		assert.Equal(t, tc.want, Describe(tc.vif, tc.vife), "VIF %02X %X", tc.vif, tc.vife)
	}
}

func TestExpandProfile(t *testing.T) {
	base := time.Date(2024, 7, 24, 19, 0, 0, 0, time.UTC)
	t.Run("decrements, hours", func(t *testing.T) {
		pts, err := ExpandProfile(codectest.Hex(t, "6101 00 03 01"), 10, base)
		require.NoError(t, err)
		assert.Equal(t, []ProfilePoint{{10, base.Add(-time.Hour)}, {7, base.Add(-2 * time.Hour)}, {6, base.Add(-3 * time.Hour)}}, pts)
	})
	t.Run("increments, 15 minutes, 2 bytes", func(t *testing.T) {
		pts, err := ExpandProfile(codectest.Hex(t, "920f 0100 0200"), 10, base)
		require.NoError(t, err)
		assert.Equal(t, []ProfilePoint{{11, base.Add(-15 * time.Minute)}, {13, base.Add(-30 * time.Minute)}}, pts)
	})
	t.Run("signed differences, days", func(t *testing.T) {
		pts, err := ExpandProfile(codectest.Hex(t, "f101 ff 02"), 10, base)
		require.NoError(t, err)
		assert.Equal(t, []ProfilePoint{{11, base.AddDate(0, 0, -1)}, {9, base.AddDate(0, 0, -2)}}, pts)
	})
	t.Run("monthly", func(t *testing.T) {
		pts, err := ExpandProfile(codectest.Hex(t, "71fe 01"), 10, base)
		require.NoError(t, err)
		assert.Equal(t, []ProfilePoint{{9, base.AddDate(0, -1, 0)}}, pts)
	})
	for _, bad := range []string{"61", "6001 00", "0101 00", "61ff 00", "6100 00", "62 01 000000", "41fe 00", "0000"} {
		_, err := ExpandProfile(codectest.Hex(t, bad), 0, base)
		assert.Error(t, err, bad)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"446d003318374413030000004d93131a6101000000030000000000000000000000000000000000000000",
		"0405fc437f0e041340919822022e9015023c482b0259d825025de8140c782794817904fd1700000100",
		"c4934093 3c 01020304 2f 017c03414243 05 0faabb",
	} {
		f.Add(codectest.Hex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Parse(b)
		if err != nil {
			return
		}
		for _, r := range recs.Records {
			d := Describe(r.VIF, r.VIFE)
			_, _, _ = r.Raw(d.Signed)
			_, _ = r.Float()
			_, _ = r.Time(time.UTC)
			if d.Profile {
				_, _ = ExpandProfile(r.Data, 0, time.Time{})
			}
		}
	})
}
