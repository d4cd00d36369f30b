package device

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bulkCSV is a CSV of n OTAA devices; bad maps a 0-based device index to
// the line that replaces it.
func bulkCSV(n int, bad map[int]string) string {
	var b strings.Builder
	b.WriteString("dev_eui,name,activation,profile,site,tags,join_eui,app_key\n")
	for i := range n {
		if l, ok := bad[i]; ok {
			b.WriteString(l + "\n")
			continue
		}
		fmt.Fprintf(&b, "70b3d57e%08x,Raum %d,otaa,elsys/ers-co2,gs-nord,classroom;floor1,70b3d57ed0000000,%032x\n", i+1, i, i+1)
	}
	return b.String()
}

func TestParseCSVNamesEveryBadLine(t *testing.T) {
	in := bulkCSV(500, map[int]string{
		41:  "70b3d57e0000002a,Raum 41,otaa,elsys/ers-co2,gs-nord,,70b3d57ed0000000,0011",                              // key too short
		199: "70b3d57e000000c8,Raum 199,otab,elsys/ers-co2,gs-nord,,70b3d57ed0000000,000102030405060708090a0b0c0d0e0f", // activation
		420: "70b3d57e00000001,Raum 420,otaa,elsys/ers-co2,gs-nord,,70b3d57ed0000000,000102030405060708090a0b0c0d0e0f", // DevEUI of line 2
	})
	entries, probs, err := ParseCSV(strings.NewReader(in))
	require.NoError(t, err)
	probs = append(probs, Check(entries, nil)...)
	require.Len(t, probs, 3, "%v", probs)
	assert.Equal(t, Problem{Line: 43, Field: "app_key", Message: "expected 32 hex digits, got 4"}, probs[0])
	assert.Equal(t, 201, probs[1].Line)
	assert.Equal(t, "activation", probs[1].Field)
	assert.Equal(t, Problem{Line: 422, Field: "dev_eui", Message: "70b3d57e00000001 is already on line 2"}, probs[2])

	entries, probs, err = ParseCSV(strings.NewReader(bulkCSV(500, nil)))
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Empty(t, Check(entries, nil))
	require.Len(t, entries, 500)
	d := entries[7].Device
	assert.Equal(t, "70b3d57e00000008", d.DevEUI.String())
	assert.Equal(t, []string{"classroom", "floor1"}, d.Tags)
	assert.Equal(t, OTAA, d.Activation)
	assert.Equal(t, 9, entries[7].Line)
}

func TestParseCSVHeaderAndShape(t *testing.T) {
	_, probs, _ := ParseCSV(strings.NewReader("dev_eui,activaton\n"))
	require.Len(t, probs, 1)
	assert.Equal(t, "line 1: activaton: no such column (closest: activation, class, mac_version)", probs[0].String())
	_, probs, _ = ParseCSV(strings.NewReader("dev_eui,activation\n70b3d57e00000001\n\n70b3d57e00000002,external,x\n"))
	require.Len(t, probs, 2)
	assert.Equal(t, "line 2: 1 values for 2 columns", probs[0].String())
	assert.Equal(t, 4, probs[1].Line)
	_, probs, _ = ParseCSV(strings.NewReader(""))
	require.Len(t, probs, 1)
}

func TestParseJSON(t *testing.T) {
	entries, probs, _ := ParseJSON(strings.NewReader(`{"devices": [
		{"dev_eui": "70b3d57e00000001", "activation": "abp", "dev_addr": "26011bda", "nwk_s_key": "000102030405060708090a0b0c0d0e0f", "app_s_key": "000102030405060708090a0b0c0d0e0f"},
		{"dev_eui": "70b3d57e0000002", "activation": "otaa"},
		{"dev_eui": "70b3d57e00000003", "activation": "external", "colour": "red"}]}`))
	require.Len(t, entries, 1)
	assert.Equal(t, ABP, entries[0].Device.Activation)
	require.Len(t, probs, 2)
	assert.Equal(t, 2, probs[0].Line)
	assert.Contains(t, probs[0].Message, "dev_eui: expected 16 hex digits, got 15")
	assert.Equal(t, 3, probs[1].Line)
	assert.Contains(t, probs[1].Message, "colour")
}

// An export carries no key; its columns import again.
func TestWriteCSVWithoutKeys(t *testing.T) {
	entries, probs, _ := ParseCSV(strings.NewReader(bulkCSV(3, nil)))
	require.Empty(t, probs)
	var devs []Device
	for _, e := range entries {
		devs = append(devs, e.Device)
	}
	var b bytes.Buffer
	require.NoError(t, WriteCSV(&b, devs))
	out := b.String()
	assert.NotContains(t, out, "app_key")
	assert.NotContains(t, out, fmt.Sprintf("%032x", 1))
	assert.Contains(t, out, "70b3d57e00000001,Raum 0,otaa,,,elsys/ers-co2,gs-nord,classroom;floor1,70b3d57ed0000000,,\n")
	back, probs, _ := ParseCSV(strings.NewReader(out))
	require.Empty(t, probs)
	assert.Equal(t, devs[2].Tags, back[2].Device.Tags)
}

type failingKV struct {
	m     map[string][]byte
	fail  int // the Put that fails (1-based), 0: none
	calls int
}

func (k *failingKV) Put(key, v []byte) error {
	k.calls++
	if k.calls == k.fail {
		return errors.New("disk full")
	}
	k.m[string(key)] = v
	return nil
}
func (k *failingKV) Delete(key []byte) error { delete(k.m, string(key)); return nil }
func (k *failingKV) ForEach(fn func(k, v []byte) error) error {
	for key, v := range k.m {
		if err := fn([]byte(key), v); err != nil {
			return err
		}
	}
	return nil
}

// AddAll is all or nothing, also when the disk fails half way.
func TestAddAllAllOrNothing(t *testing.T) {
	entries, _, _ := ParseCSV(strings.NewReader(bulkCSV(5, nil)))
	var devs []Device
	for _, e := range entries {
		devs = append(devs, e.Device)
	}
	r, err := NewRegistry(nil)
	require.NoError(t, err)
	kv := &failingKV{m: map[string][]byte{}, fail: 4}
	require.NoError(t, r.Persist(kv))
	require.ErrorContains(t, r.AddAll(devs), "disk full")
	assert.Empty(t, r.List())
	assert.Empty(t, kv.m, "the three written before the failure are undone")

	kv.fail = 0
	bad := append([]Device{}, devs...)
	bad[2].AppKey = [16]byte{}
	require.ErrorContains(t, r.AddAll(bad), "app_key")
	assert.Empty(t, r.List())
	require.NoError(t, r.AddAll(devs))
	assert.Len(t, r.List(), 5)
	assert.Len(t, kv.m, 5)
}
