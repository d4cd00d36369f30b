package mbus

import (
	"errors"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
)

// ErrNoBase is returned when an inverse compact profile has no base record
// (same type, unit, resolution and storage number) to count back from.
var ErrNoBase = errors.New("could not find base value for profile data")

// maxProfilePoints bounds a profile; an LVAR holds at most 189 elements.
const maxProfilePoints = 256

// ProfilePoint is one value reconstructed from an inverse compact profile.
type ProfilePoint struct {
	Raw  int64
	Time time.Time
}

// ExpandProfile walks an inverse compact profile (EN 13757-3 Annex F)
// backwards from the base record's raw value and time. body is the LVAR
// data: spacing control byte, spacing value, then the elements. The result
// is ordered newest first and does not include the base value.
func ExpandProfile(body []byte, baseRaw int64, baseTime time.Time) ([]ProfilePoint, error) {
	if len(body) < 2 {
		return nil, fmt.Errorf("%w: compact profile of %d bytes", codec.ErrTruncated, len(body))
	}
	ctrl, spacing := body[0], int(body[1])
	size := int(ctrl & 0x0F)
	unit := (ctrl >> 4) & 3
	mode := ctrl >> 6
	if size < 1 || size > 4 {
		return nil, fmt.Errorf("%w: compact profile element size %d", codec.ErrFormat, size)
	}
	if mode == 0 {
		return nil, fmt.Errorf("%w: compact profile increment mode 0", codec.ErrFormat)
	}
	step, err := stepper(unit, spacing)
	if err != nil {
		return nil, err
	}
	elems := body[2:]
	if len(elems)%size != 0 {
		return nil, fmt.Errorf("%w: compact profile of %d bytes is not a multiple of %d", codec.ErrFormat, len(elems), size)
	}
	n := len(elems) / size
	if n > maxProfilePoints {
		return nil, fmt.Errorf("%w: compact profile of %d elements", codec.ErrFormat, n)
	}
	out := make([]ProfilePoint, 0, n)
	v := baseRaw
	for k := 0; k < n; k++ {
		e, _, err := binaryValue(elems[k*size:(k+1)*size], mode == 3)
		if err != nil {
			return nil, err
		}
		if mode == 2 {
			v += e
		} else {
			v -= e
		}
		out = append(out, ProfilePoint{Raw: v, Time: step(baseTime, k+1)})
	}
	return out, nil
}

// stepper returns a function giving the time k spacings before t.
func stepper(unit byte, spacing int) (func(t time.Time, k int) time.Time, error) {
	if spacing == 254 { // monthly spacings: unit 3 → 1, 2 → 3, 1 → 6 months
		months := map[byte]int{3: 1, 2: 3, 1: 6}[unit]
		if months == 0 {
			return nil, fmt.Errorf("%w: compact profile spacing 254 with unit %d", codec.ErrFormat, unit)
		}
		return func(t time.Time, k int) time.Time { return t.AddDate(0, -months*k, 0) }, nil
	}
	if spacing < 1 || spacing > 250 {
		return nil, fmt.Errorf("%w: compact profile spacing value %d", codec.ErrFormat, spacing)
	}
	d := time.Duration(spacing) * [4]time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}[unit]
	return func(t time.Time, k int) time.Time { return t.Add(-time.Duration(k) * d) }, nil
}
