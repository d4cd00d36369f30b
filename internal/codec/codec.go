// Package codec turns decrypted LoRaWAN application payloads into canonical
// measurements. Each device family has its own decoder in a subpackage
// (codec/elsys, codec/decentlab, ...); decoders register a constructor under
// their profile codec id in a Registry, and firmware profiles pick them by id.
package codec

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Input is one application payload to decode.
type Input struct {
	FPort uint8
	Bytes []byte
	// RecvTime is the receive time of the uplink; decoders date historical
	// values (hourly history, backward deltas) relative to it or to a
	// timestamp in the payload.
	RecvTime time.Time
}

// Value is one decoded field that a profile may map to a canonical quantity.
// Field uses the vendor's published field name (e.g. "co2", "temperature",
// "pm2_5_mass_concentration").
type Value struct {
	Field string
	Value float64
	Unit  string
	// Channel separates repeated fields, e.g. pulse input 1 and 2; 0 if single.
	Channel int
	// Time is set only when the payload itself dates the value; zero means
	// "at RecvTime".
	Time time.Time
	// Meta marks the value, e.g. quality=invalid for a reading the sensor
	// itself flags as invalid: it is stored as read, but never judged as a
	// normal value. It becomes the measurement's Meta.
	Meta map[string]string
}

// Result is what a decoder returns.
type Result struct {
	// Values are the numeric values the profile maps to quantities.
	Values []Value
	// Fields is the full decoded object in the vendor's published shape,
	// for display and for `loraedge decode`.
	Fields map[string]any
	// Warnings are problems that did not stop decoding (an unknown record
	// skipped, a sensor reporting an error value).
	Warnings []string
}

// Decoder decodes payloads of one device family. Implementations must not
// panic on any input and must be safe for concurrent use.
type Decoder interface {
	Decode(in Input) (Result, error)
}

// Constructor builds a decoder from the codec options of a firmware profile.
type Constructor func(options map[string]any) (Decoder, error)

// ErrUnknownCodec is returned by Registry.New for an unregistered id.
var ErrUnknownCodec = errors.New("unknown codec")

// Errors that decoders wrap so callers can count rejections by kind.
var (
	ErrTruncated = errors.New("payload truncated")
	ErrFPort     = errors.New("unexpected fPort")
	ErrFormat    = errors.New("malformed payload")
)

// Registry maps codec ids to constructors.
type Registry struct {
	mu    sync.RWMutex
	ctors map[string]Constructor
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{ctors: map[string]Constructor{}} }

// Register adds a constructor; registering an id twice is a programming
// error reported as an error, not a panic.
func (r *Registry) Register(id string, c Constructor) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.ctors[id]; dup {
		return fmt.Errorf("codec %q registered twice", id)
	}
	r.ctors[id] = c
	return nil
}

// New builds the decoder registered as id.
func (r *Registry) New(id string, options map[string]any) (Decoder, error) {
	r.mu.RLock()
	c, ok := r.ctors[id]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownCodec, id)
	}
	d, err := c(options)
	if err != nil {
		return nil, fmt.Errorf("codec %s: %w", id, err)
	}
	return d, nil
}

// IDs lists the registered codec ids, sorted.
func (r *Registry) IDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.ctors))
	for id := range r.ctors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
