package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts every environment variable that sets a key:
// LORAEDGE_NETWORK_DEDUP_WINDOW sets network.dedup_window.
const EnvPrefix = "LORAEDGE_"

// Source says where a configuration comes from. Precedence, highest first:
// flags that were set, environment, the file, the defaults.
type Source struct {
	// File is a YAML file; empty means defaults only.
	File string
	// YAML, if set, is used instead of reading File (File then only names it
	// in errors).
	YAML []byte
	// Env is the environment as os.Environ returns it; nil means none.
	Env []string
	// Flags are bound by key: FlagKeys maps a flag name to a config key.
	Flags    *pflag.FlagSet
	FlagKeys map[string]string
}

// Load reads, merges and strictly decodes the configuration, then validates
// it. Every error names the key or variable it is about.
func Load(src Source) (Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	keys := leafKeys(reflect.TypeOf(Config{}), "")
	def := Default()
	defVals := leafValues(reflect.ValueOf(def), "")
	for _, k := range keys {
		v.SetDefault(k, defVals[k])
	}

	data := src.YAML
	if data == nil && src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		data = b
	}
	if data != nil {
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return Config{}, fmt.Errorf("parse %s: %w", nameOf(src.File), err)
		}
	}

	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	var errs []error
	for _, kv := range src.Env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvPrefix+"CONFIG" {
			continue
		}
		key := envKey(name, keys)
		if key == "" {
			errs = append(errs, fmt.Errorf("environment %s: no such configuration key", name))
			continue
		}
		v.Set(key, val)
	}
	if src.Flags != nil {
		for flag, key := range src.FlagKeys {
			// Each command defines the flags it needs of the shared map.
			if f := src.Flags.Lookup(flag); f != nil && f.Changed {
				v.Set(key, f.Value.String())
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	// Lists the file leaves out keep their defaults.
	c := Default()
	err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.TextUnmarshallerHookFunc(),
	)))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", nameOf(src.File), err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: invalid configuration:\n%w", nameOf(src.File), err)
	}
	return c, nil
}

func nameOf(file string) string {
	if file == "" {
		return "configuration"
	}
	return file
}

// envKey finds the key an environment variable names. Underscores are both
// separators and part of key names, so match against the known keys.
func envKey(name string, keys []string) string {
	want := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	for _, k := range keys {
		if strings.ReplaceAll(k, ".", "_") == want {
			return k
		}
	}
	return ""
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// isLeaf reports whether values of t are set as one scalar.
func isLeaf(t reflect.Type) bool {
	if t == reflect.TypeOf(time.Duration(0)) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	return t.Kind() != reflect.Struct
}

// leafKeys lists the dotted keys of every scalar field; lists (devices,
// sites) are file-only.
func leafKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		if squashed(tag) {
			out = append(out, leafKeys(f.Type, prefix)...)
			continue
		}
		key := prefix + tag
		switch {
		case f.Type.Kind() == reflect.Slice:
		case isLeaf(f.Type):
			out = append(out, key)
		default:
			out = append(out, leafKeys(f.Type, key+".")...)
		}
	}
	sort.Strings(out)
	return out
}

func leafValues(v reflect.Value, prefix string) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" || f.Type.Kind() == reflect.Slice {
			continue
		}
		fv := v.Field(i)
		if squashed(tag) {
			maps.Copy(out, leafValues(fv, prefix))
			continue
		}
		key := prefix + tag
		switch {
		case f.Type == reflect.TypeOf(time.Duration(0)):
			out[key] = time.Duration(fv.Int()).String()
		case isLeaf(f.Type):
			if m, ok := fv.Interface().(encoding.TextMarshaler); ok {
				b, _ := m.MarshalText()
				out[key] = string(b)
			} else {
				out[key] = fv.Interface()
			}
		default:
			for k, val := range leafValues(fv, key+".") {
				out[k] = val
			}
		}
	}
	return out
}

// squashed reports whether a field's keys sit at its parent's level: an
// embedded struct shared by several sections (the MQTT broker connection).
func squashed(tag string) bool {
	_, opts, _ := strings.Cut(tag, ",")
	return opts == "squash"
}

// KeyPaths lists every key that can be set from the environment or a flag.
func KeyPaths() []string { return leafKeys(reflect.TypeOf(Config{}), "") }
