package network

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/secret"
)

// With a key-encryption key no session key is on disk in plain; the
// sessions load again with the same KEK and not without it. Records
// written before the KEK was configured are sealed when it is.
func TestSessionKeysEncryptedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.db")
	nwk := lorawan.AES128Key{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}
	eui := lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	ss := &session{DevEUI: eui, DevAddr: lorawan.DevAddr{1, 2, 3, 4}, NwkSKey: nwk, AppSKey: nwk, FCntUp: 42, HasUp: true, Class: device.ClassA}

	st, err := OpenState(path)
	require.NoError(t, err)
	require.NoError(t, st.commit([]*session{ss}, nil, nil)) // plain, as before a KEK existed
	kek, err := secret.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	require.NoError(t, err)
	require.NoError(t, st.SetKEK(kek))
	require.NoError(t, st.Close())

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, nwk[:]), "a session key is still in plain on disk")

	st, err = OpenState(path)
	require.NoError(t, err)
	_, err = st.loadSessions()
	require.ErrorContains(t, err, "key-encryption key", "without the KEK the sessions do not load")
	require.NoError(t, st.SetKEK(kek))
	got, err := st.loadSessions()
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, nwk, got[0].NwkSKey)
	assert.EqualValues(t, 42, got[0].FCntUp)

	other, _ := secret.Parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	require.Error(t, st.SetKEK(other), "a wrong KEK is refused, not silently used")
	require.NoError(t, st.Close())
}
