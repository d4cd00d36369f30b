package milesight

import (
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
)

// walk decodes the run of [channel][type][value] records in b, shared by
// all Milesight models. recordLen gives a record's value length: for an
// unknown one decoding ends with a warning, as the rest cannot be framed.
// record decodes one complete record; false skips it with a warning.
func walk(b []byte, recordLen func(ch, ty byte) (int, bool), record func(o *out, ch, ty byte, v []byte) bool) (*out, error) {
	o := &out{res: codec.Result{Fields: map[string]any{}}}
	if len(b) == 0 {
		return o, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	for i := 0; i < len(b); {
		if len(b)-i < 2 {
			return o, fmt.Errorf("%w: record header at byte %d", codec.ErrTruncated, i)
		}
		ch, ty := b[i], b[i+1]
		v := b[i+2:]
		n, ok := recordLen(ch, ty)
		if !ok {
			o.warn("record %02x %02x at byte %d has an unknown type: %d bytes not decoded", ch, ty, i, len(b)-i)
			break
		}
		if len(v) < n {
			return o, fmt.Errorf("%w: record %02x %02x at byte %d needs %d bytes, %d left",
				codec.ErrTruncated, ch, ty, i, n, len(v))
		}
		if !record(o, ch, ty, v[:n]) {
			o.warn("unknown record %02x %02x at byte %d skipped", ch, ty, i)
		}
		i += 2 + n
	}
	return o, nil
}

// preset returns ctor with the model option set, for registering one codec
// id per model.
func preset(model string, ctor codec.Constructor) codec.Constructor {
	return func(options map[string]any) (codec.Decoder, error) {
		o := map[string]any{"model": model}
		for k, v := range options {
			o[k] = v
		}
		return ctor(o)
	}
}
