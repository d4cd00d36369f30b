package milesight

import (
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
)

// walkRecords runs over a payload's [channel][type][value] records: the
// value's length comes from recordLen, each complete record goes to
// record with its offset. A record of unknown length ends the walk with
// a warning (what follows cannot be framed); a record cut short is an
// error that keeps what was decoded before it.
func walkRecords(b []byte, recordLen func(ch, ty byte) (int, bool), record func(o *out, ch, ty byte, v []byte, at int)) (codec.Result, error) {
	if len(b) == 0 {
		return codec.Result{}, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	o := &out{res: codec.Result{Fields: map[string]any{}}}
	for i := 0; i < len(b); {
		if len(b)-i < 2 {
			return o.res, fmt.Errorf("%w: record header at byte %d", codec.ErrTruncated, i)
		}
		ch, ty := b[i], b[i+1]
		v := b[i+2:]
		n, ok := recordLen(ch, ty)
		if !ok {
			o.warn("record %02x %02x at byte %d has an unknown type: %d bytes not decoded", ch, ty, i, len(b)-i)
			break
		}
		if len(v) < n {
			return o.res, fmt.Errorf("%w: record %02x %02x at byte %d needs %d bytes, %d left",
				codec.ErrTruncated, ch, ty, i, n, len(v))
		}
		record(o, ch, ty, v[:n], i)
		i += 2 + n
	}
	return o.res, nil
}
