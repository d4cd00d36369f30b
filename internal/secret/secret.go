// Package secret encrypts LoRaWAN key material at rest with a
// key-encryption key (KEK): AES-256-GCM, a fresh random nonce per record,
// and the record's identity (e.g. the DevEUI) as additional data, so a
// sealed key cannot be moved to another device's record unnoticed.
//
// The KEK itself never touches the data directory: it comes from the
// environment or a file readable by the daemon only, so a copied SD card
// or backup does not reveal session keys.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KEK is a key-encryption key.
type KEK struct {
	aead cipher.AEAD
}

// ErrDecrypt is returned when a sealed value does not open: a wrong KEK or
// a damaged or moved record.
var ErrDecrypt = errors.New("secret: cannot decrypt (wrong key-encryption key or damaged record)")

// Parse reads a KEK from 64 hex digits (32 bytes).
func Parse(hexKey string) (*KEK, error) {
	b, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil || len(b) != 32 {
		return nil, errors.New("secret: the key-encryption key must be 64 hex digits (32 bytes)")
	}
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &KEK{aead: aead}, nil
}

// Load reads a KEK file (64 hex digits); it refuses a file that others may
// read.
func Load(path string) (*KEK, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s is readable by group or others (mode %s); chmod 600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return Parse(string(b))
}

// Seal encrypts plain, bound to aad.
func (k *KEK) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand does not fail on Linux (getrandom); if it ever does,
		// continuing with a zero nonce would break GCM.
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return k.aead.Seal(nonce, nonce, plain, aad)
}

// Open decrypts what Seal produced with the same aad.
func (k *KEK) Open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// Overhead is how many bytes Seal adds.
func (k *KEK) Overhead() int { return k.aead.NonceSize() + k.aead.Overhead() }
