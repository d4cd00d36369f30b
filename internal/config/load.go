package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/loraedge/loraedge/internal/inputerr"
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
	// Sections, if set, limits the checks to these top-level keys
	// ("data_dir", "energy", "devices"): a command reports only problems
	// of the configuration it uses. Nil checks everything.
	Sections []string
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

	// Lists the file leaves out keep their defaults. Decoding goes on past
	// a bad value, so that one run reports the problems of every stage.
	c := Default()
	problems := append(errs, decodeProblems(v.UnmarshalExact(&c, viper.DecodeHook(textHook)))...)
	seen := map[string]bool{}
	for _, p := range problems {
		if fe := (*inputerr.FieldError)(nil); errors.As(p, &fe) {
			seen[fe.Field] = true
		}
	}
	for _, err := range flatten(c.Validate()) {
		if !seen[validatedKey(err.Error())] {
			problems = append(problems, err)
		}
	}
	if src.Sections != nil {
		problems = slices.DeleteFunc(problems, func(err error) bool { return !inSections(err, src.Sections) })
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%s: invalid configuration:\n%w", nameOf(src.File), errors.Join(problems...))
	}
	return c, nil
}

// textHook decodes the scalar values given as text into durations, EUIs,
// keys and other text types, with errors that say what was expected.
func textHook(_, to reflect.Type, data any) (any, error) {
	// YAML reads an unquoted 2026-01-12 as a timestamp; date keys
	// (measures, holidays, closures) are text.
	if t, ok := data.(time.Time); ok && to.Kind() == reflect.String {
		if t.Equal(t.Truncate(24 * time.Hour)) {
			return t.Format(time.DateOnly), nil
		}
		return t.Format(time.RFC3339), nil
	}
	s, ok := data.(string)
	if !ok || to.Kind() == reflect.String || (to != reflect.TypeOf(time.Duration(0)) && !reflect.PointerTo(to).Implements(textUnmarshaler)) {
		return data, nil
	}
	v, err := inputerr.Text(to, s)
	if err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

// decodeProblems turns the decoder's errors into one FieldError per
// key, in words: "devices[3].app_key: expected 32 hex digits, got 31".
func decodeProblems(err error) []error {
	var out []error
	for _, e := range flatten(err) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, e)
			continue
		}
		out = append(out, decodeProblem(de)...)
	}
	return out
}

func decodeProblem(de *mapstructure.DecodeError) []error {
	name, cause := de.Name(), de.Unwrap()
	// The decoder names the root by its type; the operator's root is "".
	name = strings.TrimPrefix(strings.TrimPrefix(name, reflect.TypeOf(Config{}).String()), ".")
	var (
		fe *inputerr.FieldError
		pe *mapstructure.ParseError
		ue *mapstructure.UnconvertibleTypeError
	)
	switch {
	case errors.As(cause, &fe):
		return []error{&inputerr.FieldError{Field: name, Message: fe.Message, Err: fe.Err}}
	case errors.As(cause, &pe):
		return []error{&inputerr.FieldError{Field: name, Message: "expected " + inputerr.Expect(pe.Expected.Type()) + ", got " + inputerr.Got(pe.Value), Err: cause}}
	case errors.As(cause, &ue):
		return []error{&inputerr.FieldError{Field: name, Message: "expected " + inputerr.Expect(ue.Expected.Type()) + ", got " + inputerr.Got(ue.Value), Err: cause}}
	}
	if keys, ok := strings.CutPrefix(cause.Error(), "has invalid keys: "); ok {
		var out []error
		for _, k := range strings.Split(keys, ", ") {
			if name != "" {
				k = name + "." + k
			}
			out = append(out, &inputerr.FieldError{Field: k, Message: "no such configuration key", Err: cause})
		}
		return out
	}
	return []error{&inputerr.FieldError{Field: name, Message: "invalid value", Err: cause}}
}

// flatten lists the errors joined in err, depth first.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	// mapstructure puts a heading before its joined list.
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "decoding failed") {
		return flatten(u)
	}
	return []error{err}
}

// validatedKey is the key a check's message is about: "devices[3]:
// app_key: required" is about devices[3].app_key.
func validatedKey(msg string) string {
	key, rest, _ := strings.Cut(msg, ": ")
	if strings.HasSuffix(key, "]") {
		if sub, _, ok := strings.Cut(rest, ": "); ok && !strings.ContainsAny(sub, " \"") {
			return key + "." + sub
		}
	}
	return key
}

// inSections reports whether a problem is about one of the sections; a
// problem without a recognisable key is kept.
func inSections(err error, sections []string) bool {
	key := validatedKey(err.Error())
	if fe := (*inputerr.FieldError)(nil); errors.As(err, &fe) {
		key = fe.Field
	}
	top, _, _ := strings.Cut(key, ".")
	top, _, _ = strings.Cut(top, "[")
	if !slices.Contains(KeyPaths(), key) && !slices.ContainsFunc(KeyPaths(), func(k string) bool { return strings.HasPrefix(k, top+".") }) &&
		top != "sites" && top != "devices" {
		return true
	}
	return slices.Contains(sections, top)
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
