package inputerr

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpect(t *testing.T) {
	for typ, want := range map[reflect.Type]string{
		reflect.TypeFor[lorawan.EUI64]():      "16 hex digits",
		reflect.TypeFor[*lorawan.EUI64]():     "16 hex digits",
		reflect.TypeFor[lorawan.AES128Key]():  "32 hex digits",
		reflect.TypeFor[lorawan.DevAddr]():    "8 hex digits",
		reflect.TypeFor[uint8]():              "a whole number from 0 to 255",
		reflect.TypeFor[int8]():               "a whole number from -128 to 127",
		reflect.TypeFor[uint32]():             "a whole number from 0 to 4294967295",
		reflect.TypeFor[time.Duration]():      "a duration like 90s, 15m or 2h",
		reflect.TypeFor[[]string]():           "a list of texts",
		reflect.TypeFor[map[string]float64](): "an object of numbers",
		reflect.TypeFor[bool]():               "true or false",
	} {
		assert.Equal(t, want, Expect(typ), typ.String())
	}
}

func TestText(t *testing.T) {
	v, err := Text(reflect.TypeFor[lorawan.EUI64](), "70b3d57ed0000001")
	require.NoError(t, err)
	assert.Equal(t, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}, v.Interface())
	_, err = Text(reflect.TypeFor[lorawan.AES128Key](), strings.Repeat("0", 31))
	assert.EqualError(t, err, "expected 32 hex digits, got 31")
	_, err = Text(reflect.TypeFor[time.Duration](), "xyz")
	assert.EqualError(t, err, `expected a duration like 90s, 15m or 2h, got "xyz"`)
	d, err := Text(reflect.TypeFor[time.Duration](), "90s")
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d.Interface())
}

func TestQuoteCuts(t *testing.T) {
	assert.Equal(t, `"`+strings.Repeat("x", 40)+`…"`, Quote(strings.Repeat("x", 100)))
}

func TestJSONEmbedded(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	var v struct {
		inner
		B string `json:"b"`
	}
	require.NoError(t, JSON(strings.NewReader(`{"a":3,"b":"x"}`), &v))
	assert.Equal(t, 3, v.A)
	assert.Equal(t, "x", v.B)
	err := JSON(strings.NewReader(`{"a":"3","c":1}`), &v)
	assert.EqualError(t, err, "a: expected a whole number, got \"3\"\nc: no such field")
}

func TestFromJSON(t *testing.T) {
	var req struct {
		ID    string `json:"id"`
		FPort *int   `json:"f_port"`
		On    bool   `json:"on"`
	}
	err := FromJSON(json.Unmarshal([]byte(`{"id":"c1","f_port":"20"}`), &req))
	assert.EqualError(t, err, "f_port: expected a whole number, got a text")
	assert.Equal(t, "c1", req.ID, "the other fields are decoded")
	err = FromJSON(json.Unmarshal([]byte(`{"on":1}`), &req))
	assert.EqualError(t, err, "on: expected true or false, got a number")
	err = FromJSON(json.Unmarshal([]byte(`{"id":`), &req))
	assert.ErrorContains(t, err, "body: not valid JSON near byte")
	assert.NoError(t, FromJSON(nil))
}
