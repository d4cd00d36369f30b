package store

import (
	"fmt"
	"math/bits"
)

// The entropy stage measured against zstd (BenchmarkEntropyStage): an
// adaptive binary range coder (the scheme of LZMA: 32-bit range, carry
// propagation through a cached byte, 11-bit probabilities adapting by 1/32
// of the error). Integers are binarised into a zero flag, a sign, the bit
// length as a 6-level bit tree and the bits below the leading one, the top
// three of them modelled per length, so a chunk learns the distribution of
// its residuals as it goes and pays for it only once per chunk.
const (
	probBits  = 11
	probOne   = 1 << probBits
	probShift = 5
	rcTop     = 1 << 24
)

type rcEncoder struct {
	out       []byte
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int
}

func newRCEncoder(out []byte) *rcEncoder {
	return &rcEncoder{out: out, rng: 0xFFFFFFFF, cacheSize: 1}
}

func (e *rcEncoder) shiftLow() {
	if uint32(e.low) < 0xFF000000 || e.low>>32 != 0 {
		carry := byte(e.low >> 32)
		b := e.cache
		for ; e.cacheSize > 0; e.cacheSize-- {
			e.out = append(e.out, b+carry)
			b = 0xFF
		}
		e.cache = byte(e.low >> 24)
	}
	e.cacheSize++
	e.low = (e.low & 0x00FFFFFF) << 8
}

func (e *rcEncoder) bit(p *uint16, b uint) {
	bound := (e.rng >> probBits) * uint32(*p)
	if b == 0 {
		e.rng = bound
		*p += (probOne - *p) >> probShift
	} else {
		e.low += uint64(bound)
		e.rng -= bound
		*p -= *p >> probShift
	}
	for e.rng < rcTop {
		e.rng <<= 8
		e.shiftLow()
	}
}

// direct writes the low n bits of v with probability 1/2 each.
func (e *rcEncoder) direct(v uint64, n uint) {
	for n > 0 {
		n--
		e.rng >>= 1
		if (v>>n)&1 != 0 {
			e.low += uint64(e.rng)
		}
		for e.rng < rcTop {
			e.rng <<= 8
			e.shiftLow()
		}
	}
}

// finish flushes the coder and returns the output. The first byte the
// scheme emits is always zero and is left out.
func (e *rcEncoder) finish(start int) []byte {
	for i := 0; i < 5; i++ {
		e.shiftLow()
	}
	// out[start] is the always-zero first byte.
	copy(e.out[start:], e.out[start+1:])
	return e.out[:len(e.out)-1]
}

type rcDecoder struct {
	in   []byte
	pos  int
	code uint32
	rng  uint32
	// over counts bytes read past the end; a valid stream reads none.
	over int
}

func newRCDecoder(in []byte) *rcDecoder {
	d := &rcDecoder{in: in, rng: 0xFFFFFFFF}
	for i := 0; i < 4; i++ {
		d.code = d.code<<8 | uint32(d.next())
	}
	return d
}

func (d *rcDecoder) next() byte {
	if d.pos < len(d.in) {
		b := d.in[d.pos]
		d.pos++
		return b
	}
	d.over++
	return 0
}

func (d *rcDecoder) bit(p *uint16) uint {
	bound := (d.rng >> probBits) * uint32(*p)
	var b uint
	if d.code < bound {
		d.rng = bound
		*p += (probOne - *p) >> probShift
	} else {
		d.code -= bound
		d.rng -= bound
		*p -= *p >> probShift
		b = 1
	}
	if d.rng < rcTop {
		d.rng <<= 8
		d.code = d.code<<8 | uint32(d.next())
	}
	return b
}

func (d *rcDecoder) direct(n uint) uint64 {
	var v uint64
	for ; n > 0; n-- {
		d.rng >>= 1
		var b uint32
		if d.code >= d.rng {
			d.code -= d.rng
			b = 1
		}
		v = v<<1 | uint64(b)
		if d.rng < rcTop {
			d.rng <<= 8
			d.code = d.code<<8 | uint32(d.next())
		}
	}
	return v
}

// mantCtx is how many bits below the leading one are modelled per length;
// further bits are close to uniform and go direct.
const mantCtx = 3

// intModel holds the adaptive probabilities of one integer stream.
type intModel struct {
	zero uint16
	sign uint16
	len  [64]uint16               // bit tree over bit length - 1
	mant [64][1 << mantCtx]uint16 // per length, bit tree over the top mantissa bits
}

func newIntModel() *intModel {
	m := &intModel{zero: probOne / 2, sign: probOne / 2}
	for i := range m.len {
		m.len[i] = probOne / 2
	}
	for i := range m.mant {
		for j := range m.mant[i] {
			m.mant[i][j] = probOne / 2
		}
	}
	return m
}

func (m *intModel) encode(e *rcEncoder, v int64) {
	if v == 0 {
		e.bit(&m.zero, 0)
		return
	}
	e.bit(&m.zero, 1)
	mag := uint64(v)
	if v < 0 {
		e.bit(&m.sign, 1)
		mag = uint64(-v) // -MinInt64 wraps to itself, its magnitude as uint64
	} else {
		e.bit(&m.sign, 0)
	}
	l := uint(bits.Len64(mag)) // 1..64
	node := uint(1)
	for i := 5; i >= 0; i-- {
		b := ((l - 1) >> uint(i)) & 1
		e.bit(&m.len[node], b)
		node = node<<1 | b
	}
	rest := l - 1
	ctx := min(rest, mantCtx)
	node = 1
	for i := uint(0); i < ctx; i++ {
		b := uint(mag>>(rest-1-i)) & 1
		e.bit(&m.mant[l-1][node], b)
		node = node<<1 | b
	}
	if rest > ctx {
		e.direct(mag, rest-ctx)
	}
}

func (m *intModel) decode(d *rcDecoder) int64 {
	if d.bit(&m.zero) == 0 {
		return 0
	}
	neg := d.bit(&m.sign)
	node := uint(1)
	for i := 0; i < 6; i++ {
		node = node<<1 | d.bit(&m.len[node])
	}
	l := node - 64 + 1
	rest := l - 1
	ctx := min(rest, mantCtx)
	mag := uint64(1)
	node = 1
	for i := uint(0); i < ctx; i++ {
		b := d.bit(&m.mant[l-1][node])
		node = node<<1 | b
		mag = mag<<1 | uint64(b)
	}
	if rest > ctx {
		mag = mag<<(rest-ctx) | d.direct(rest-ctx)
	}
	if neg != 0 {
		return -int64(mag)
	}
	return int64(mag)
}

// encodeChunkRC encodes pts as format 2 does, with the range coder in
// place of zstd (and without its daily predictors and exceptions).
func encodeChunkRC(pts []point) []byte {
	unitIdx := timeUnitOf(pts)
	k, mul, ns, _, _ := decimalScaleLoose(pts, nil)
	unit := timeUnits[unitIdx]
	pred := bestPredictor(ns, 0)
	buf := appendChunk2Header(make([]byte, 0, 32+len(pts)), chunk2Header{
		unitIdx: unitIdx, k: k, mul: mul, pred: pred, count: len(pts),
		minT: pts[0].T, maxT: pts[len(pts)-1].T, firstT: pts[0].T / unit, firstN: ns[0],
	})
	start := len(buf)
	e := newRCEncoder(buf)
	tm, vm := newIntModel(), newIntModel()
	var prevT, prevD int64 = pts[0].T / unit, 0
	for i := 1; i < len(pts); i++ {
		t := pts[i].T / unit
		d := t - prevT
		tm.encode(e, d-prevD)
		prevT, prevD = t, d
		vm.encode(e, ns[i]-pred.predict(ns, i))
	}
	return e.finish(start)
}

// decodeChunkRC appends the points of a chunk encodeChunkRC made to dst.
func decodeChunkRC(dst []point, b []byte) ([]point, error) {
	h, p, err := parseChunk2Header(b)
	if err != nil {
		return dst, err
	}
	unit := timeUnits[h.unitIdx]
	scale := func(n int64) float64 {
		if h.mul {
			return float64(n) * negPow10[h.k]
		}
		return float64(n) / pow10[h.k]
	}
	ns := make([]int64, h.count)
	ns[0] = h.firstN
	t := h.firstT
	dst = append(dst, point{T: t * unit, V: scale(ns[0])})
	d := newRCDecoder(p)
	tm, vm := newIntModel(), newIntModel()
	var dt int64
	for i := 1; i < h.count; i++ {
		dt += tm.decode(d)
		t += dt
		ns[i] = h.pred.predict(ns, i) + vm.decode(d)
		dst = append(dst, point{T: t * unit, V: scale(ns[i])})
		if d.over > 4 {
			return dst, fmt.Errorf("%w: truncated at point %d", errChunk, i)
		}
	}
	return dst, nil
}
