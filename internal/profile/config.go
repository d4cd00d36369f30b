package profile

// Config is the profiles section of the daemon's configuration: where
// firmware profiles come from in addition to the ones built into the
// binary (see LoadDefault).
type Config struct {
	// Dir holds extra profiles (<vendor>/<model>.yaml) that add to or
	// replace the built-in ones; empty means the built-in ones only.
	Dir string `mapstructure:"dir"`
}

// DefaultConfig returns the defaults: the built-in profiles only.
func DefaultConfig() Config { return Config{} }
