package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const kekHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestSealOpen(t *testing.T) {
	k, err := Parse(kekHex)
	require.NoError(t, err)
	plain := []byte("0123456789abcdef0123456789abcdef")
	a := k.Seal(plain, []byte("dev1"))
	b := k.Seal(plain, []byte("dev1"))
	assert.NotEqual(t, a, b, "fresh nonce per record")
	assert.NotContains(t, string(a), string(plain))
	assert.Len(t, a, len(plain)+k.Overhead())
	got, err := k.Open(a, []byte("dev1"))
	require.NoError(t, err)
	assert.Equal(t, plain, got)

	_, err = k.Open(a, []byte("dev2"))
	require.ErrorIs(t, err, ErrDecrypt, "a record moved to another device does not open")
	a[len(a)-1] ^= 1
	_, err = k.Open(a, []byte("dev1"))
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = k.Open([]byte{1, 2}, nil)
	require.ErrorIs(t, err, ErrDecrypt)
	other, _ := Parse(strings.Repeat("ff", 32))
	_, err = other.Open(b, []byte("dev1"))
	require.ErrorIs(t, err, ErrDecrypt, "wrong KEK")
}

func TestParseAndLoad(t *testing.T) {
	for _, bad := range []string{"", "00", strings.Repeat("zz", 32), strings.Repeat("00", 31)} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "kek")
	require.NoError(t, os.WriteFile(f, []byte(kekHex+"\n"), 0o644))
	_, err := Load(f)
	require.ErrorContains(t, err, "chmod 600")
	require.NoError(t, os.Chmod(f, 0o600))
	_, err = Load(f)
	require.NoError(t, err)
	_, err = Load(filepath.Join(dir, "missing"))
	require.Error(t, err)
}
