package secret

import (
	"errors"
	"strings"
)

// Config is the keys section of the daemon's configuration: where the KEK
// comes from. With either field set, the session keys and API-added device
// keys in the data directory are encrypted.
type Config struct {
	// KEKFile is a file (mode 600) with a 64-hex-digit key-encryption key.
	KEKFile string `mapstructure:"kek_file"`
	// KEK is the same inline (better: LORAEDGE_KEYS_KEK).
	KEK string `mapstructure:"kek"`
}

// DefaultConfig returns the defaults: no KEK, keys are kept in the clear.
func DefaultConfig() Config { return Config{} }

// Validate reports every problem at once, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	if c.KEK != "" && c.KEKFile != "" {
		errs = append(errs, errors.New("keys: set kek or kek_file, not both"))
	}
	if k := c.KEK; k != "" && (len(k) != 64 || strings.Trim(strings.ToLower(k), "0123456789abcdef") != "") {
		errs = append(errs, errors.New("keys.kek: must be 64 hex digits"))
	}
	return errors.Join(errs...)
}

// LoadKEK returns the configured key-encryption key, or nil when none is
// configured.
func (c Config) LoadKEK() (*KEK, error) {
	switch {
	case c.KEKFile != "":
		return Load(c.KEKFile)
	case c.KEK != "":
		return Parse(c.KEK)
	}
	return nil, nil
}
