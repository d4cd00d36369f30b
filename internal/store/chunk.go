package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
)

// Chunk format (version 1). A chunk holds the points of one series, sorted
// by time, lossless:
//
//	byte    version (1)
//	byte    flags: bits 0-1 time unit (0 ns, 1 us, 2 ms, 3 s),
//	               bits 2-3 value mode (0 xor float, 1 int delta, 2 int delta-of-delta),
//	               bit  4   scale op (0: v = n / 10^k, 1: v = n * 10^-k)
//	byte    decimal scale k
//	byte    width for timestamp delta-of-delta
//	byte    width for value deltas (int modes)
//	uvarint count
//	varint  min time (ns), varint max time (ns)   (read without decoding points)
//	varint  first timestamp in units
//	first value: 8 bytes float bits (xor) or varint n (int modes)
//	bit stream: per further point a timestamp delta-of-delta, then a value.
//
// Integers in the bit stream are zigzagged and written as '0' (zero),
// '10' + w bits (fits the chunk's width w) or '11' + 6 bits length + value.
// w is chosen per chunk to minimise the size, which adapts to regular
// timestamps (dod 0 -> 1 bit) and to noisy sensor values alike.
//
// Sensor values are mostly decimal numbers with a fixed resolution (0.01 degC,
// 0.001 m3). XOR-coding their float bits costs 20+ bits per noisy point, so
// when every value of a chunk is exactly n/10^k (or n*10^-k, as decoders that
// multiply produce) the integers n are delta-coded instead.
const chunkVersion = 1

var errChunk = errors.New("malformed chunk")

var timeUnits = [4]int64{1, 1e3, 1e6, 1e9}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}
var negPow10 = [...]float64{1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9}

const (
	modeXOR = 0
	modeInt = 1
	modeDoD = 2
)

// point is one sample of a series; time in Unix nanoseconds.
type point struct {
	T int64
	V float64
}

type bitWriter struct {
	buf []byte
	cur uint64 // pending bits, left-aligned count n
	n   uint
}

func (w *bitWriter) write(v uint64, nbits uint) {
	for nbits > 0 {
		free := 64 - w.n
		take := nbits
		if take > free {
			take = free
		}
		chunk := v >> (nbits - take)
		if take < 64 {
			chunk &= (1 << take) - 1
		}
		if take == 64 {
			w.cur = chunk
		} else {
			w.cur = w.cur<<take | chunk
		}
		w.n += take
		nbits -= take
		if w.n == 64 {
			w.buf = binary.BigEndian.AppendUint64(w.buf, w.cur)
			w.cur, w.n = 0, 0
		}
	}
}

func (w *bitWriter) bytes() []byte {
	cur, n := w.cur, w.n
	for n >= 8 {
		w.buf = append(w.buf, byte(cur>>(n-8)))
		n -= 8
	}
	if n > 0 {
		w.buf = append(w.buf, byte(cur<<(8-n)))
	}
	return w.buf
}

type bitReader struct {
	b   []byte
	pos uint // bit position
	err bool
}

func (r *bitReader) read(nbits uint) uint64 {
	if nbits == 0 {
		return 0
	}
	if nbits > 56 {
		hi := r.read(nbits - 32)
		return hi<<32 | r.read(32)
	}
	end := r.pos + nbits
	if end > uint(len(r.b))*8 {
		r.err = true
		return 0
	}
	i := r.pos >> 3
	var word uint64
	if int(i)+8 <= len(r.b) {
		word = binary.BigEndian.Uint64(r.b[i:])
	} else {
		for k := 0; k < 8; k++ {
			word <<= 8
			if int(i)+k < len(r.b) {
				word |= uint64(r.b[int(i)+k])
			}
		}
	}
	off := r.pos & 7
	r.pos = end
	return (word << off) >> (64 - nbits)
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func writeNum(w *bitWriter, z uint64, width uint) {
	switch {
	case z == 0:
		w.write(0, 1)
	case width > 0 && z < 1<<width:
		w.write(0b10, 2)
		w.write(z, width)
	default:
		l := uint(bits.Len64(z))
		w.write(0b11, 2)
		w.write(uint64(l-1), 6)
		w.write(z, l)
	}
}

func readNum(r *bitReader, width uint) uint64 {
	// Fast path: peek 2 control bits plus up to 56 value bits at once.
	if width <= 54 && r.pos+64 <= uint(len(r.b))*8 {
		i := r.pos >> 3
		word := binary.BigEndian.Uint64(r.b[i:]) << (r.pos & 7)
		if word>>63 == 0 {
			r.pos++
			return 0
		}
		if word>>62 == 0b10 {
			r.pos += 2 + width
			if width == 0 {
				return 0
			}
			return (word << 2) >> (64 - width)
		}
	}
	if r.read(1) == 0 {
		return 0
	}
	if r.read(1) == 0 {
		return r.read(width)
	}
	l := uint(r.read(6)) + 1
	return r.read(l)
}

// bestWidth picks the width w minimising the encoded size of zs given a
// histogram of their bit lengths.
func bestWidth(hist *[65]int) (uint, int) {
	best, bestCost := uint(0), math.MaxInt
	for w := uint(0); w <= 64; w++ {
		cost := hist[0]
		for l := 1; l <= 64; l++ {
			if hist[l] == 0 {
				continue
			}
			if uint(l) <= w {
				cost += hist[l] * (2 + int(w))
			} else {
				cost += hist[l] * (8 + l)
			}
		}
		if cost < bestCost {
			best, bestCost = w, cost
		}
	}
	return best, bestCost
}

// decimalScale finds k and the op so that every value is exactly an integer
// scaled by 10^-k; ok is false when none fits. ns reuses buf's storage.
func decimalScale(pts []point, buf []int64) (k int, mul bool, ns []int64, ok bool) {
	if cap(buf) < len(pts) {
		buf = make([]int64, len(pts))
	}
	ns = buf[:len(pts)]
	for k = 0; k < len(pow10); k++ {
		for _, op := range [2]bool{false, true} {
			fit := true
			for i, p := range pts {
				n := math.Round(p.V * pow10[k])
				if math.IsNaN(n) || math.Abs(n) > 1<<52 {
					fit = false
					break
				}
				// Through int64, as the decoder sees it: -0 becomes 0.
				n = float64(int64(n))
				var back float64
				if op {
					back = n * negPow10[k]
				} else {
					back = n / pow10[k]
				}
				// Compare bits so that -0 and NaN never pass as equal.
				if math.Float64bits(back) != math.Float64bits(p.V) {
					fit = false
					break
				}
				ns[i] = int64(n)
			}
			if fit {
				return k, op, ns, true
			}
		}
	}
	return 0, false, nil, false
}

// decimalScaleLoose is decimalScale allowing up to one point in 16 (the
// exceptions, ascending indexes) that is no exact decimal at the scale;
// their integers are the rounded value, or the previous integer when that
// is out of range, so they cost the predictor little.
func decimalScaleLoose(pts []point, buf []int64) (k int, mul bool, ns []int64, exc []int, ok bool) {
	if k, mul, ns, ok = decimalScale(pts, buf); ok {
		return k, mul, ns, nil, true
	}
	limit := len(pts) / 16
	if limit == 0 {
		return 0, false, nil, nil, false
	}
	// The scale: the one most points fit, smallest first.
	best, bestMul, bestFit := -1, false, 0
	for kk := 0; kk < len(pow10); kk++ {
		for _, op := range [2]bool{false, true} {
			fit := 0
			for _, p := range pts {
				if _, exact := toDecimal(p.V, kk, op); exact {
					fit++
				}
			}
			if fit > bestFit {
				best, bestMul, bestFit = kk, op, fit
			}
		}
	}
	if best < 0 || len(pts)-bestFit > limit {
		return 0, false, nil, nil, false
	}
	if cap(buf) < len(pts) {
		buf = make([]int64, len(pts))
	}
	ns = buf[:len(pts)]
	var prev int64
	for i, p := range pts {
		n, exact := toDecimal(p.V, best, bestMul)
		if !exact {
			exc = append(exc, i)
			r := math.Round(p.V * pow10[best])
			if math.IsNaN(r) || math.Abs(r) > 1<<52 {
				n = prev
			} else {
				n = int64(r)
			}
		}
		ns[i], prev = n, n
	}
	return best, bestMul, ns, exc, true
}

// toDecimal returns n with v == n/10^k (or n*10^-k with mul) bit for bit.
func toDecimal(v float64, k int, mul bool) (int64, bool) {
	n := math.Round(v * pow10[k])
	if math.IsNaN(n) || math.Abs(n) > 1<<52 {
		return 0, false
	}
	n = float64(int64(n)) // as the decoder sees it: -0 becomes 0
	var back float64
	if mul {
		back = n * negPow10[k]
	} else {
		back = n / pow10[k]
	}
	return int64(n), math.Float64bits(back) == math.Float64bits(v)
}

// encodeChunkV1 encodes pts (sorted by time, at least one) into a format 1
// chunk, as the store did before format 2; kept for tests and measurements.
func encodeChunkV1(pts []point) []byte {
	return encodeChunk1(pts, timeUnitOf(pts), false)
}

// timeUnitOf returns the index of the coarsest time unit that divides every
// timestamp.
func timeUnitOf(pts []point) int {
	unitIdx := 3
	for _, p := range pts {
		for unitIdx > 0 && p.T%timeUnits[unitIdx] != 0 {
			unitIdx--
		}
	}
	return unitIdx
}

// nsPool holds the integer buffers of encodeChunk: a seal cuts chunks by
// encoding candidates several times.
var nsPool = sync.Pool{New: func() any { return new([]int64) }}

// encodeChunk picks the format: 2 when every value is an exact decimal at
// one scale, else format 1's XOR floats.
func encodeChunk(pts []point) []byte {
	unitIdx := timeUnitOf(pts)
	bp := nsPool.Get().(*[]int64)
	defer nsPool.Put(bp)
	k, mul, ns, exc, ok := decimalScaleLoose(pts, *bp)
	*bp = ns[:0]
	if ok {
		if b := encodeChunk2(pts, unitIdx, k, mul, ns, exc); b != nil {
			return b
		}
		return encodeChunk1(pts, unitIdx, false)
	}
	return encodeChunk1(pts, unitIdx, true)
}

// encodeChunk1 writes format 1. With xorOnly the values are XOR coded
// even if decimal (format 2 takes those).
func encodeChunk1(pts []point, unitIdx int, xorOnly bool) []byte {
	unit := timeUnits[unitIdx]
	var tHist [65]int
	tz := make([]uint64, len(pts))
	var prevT, prevD int64
	for i, p := range pts {
		t := p.T / unit
		if i > 0 {
			d := t - prevT
			tz[i] = zigzag(d - prevD)
			tHist[bits.Len64(tz[i])]++
			prevD = d
		}
		prevT = t
	}
	tW, _ := bestWidth(&tHist)
	mode := modeXOR
	var k int
	var mul bool
	var ns []int64
	isDec := false
	if !xorOnly {
		k, mul, ns, isDec = decimalScale(pts, nil)
	}
	var vz []uint64
	var vW uint
	if isDec {
		var h1, h2 [65]int
		z1 := make([]uint64, len(pts))
		z2 := make([]uint64, len(pts))
		var pd int64
		for i := 1; i < len(ns); i++ {
			d := ns[i] - ns[i-1]
			z1[i] = zigzag(d)
			z2[i] = zigzag(d - pd)
			pd = d
			h1[bits.Len64(z1[i])]++
			h2[bits.Len64(z2[i])]++
		}
		w1, c1 := bestWidth(&h1)
		w2, c2 := bestWidth(&h2)
		if c2 < c1 {
			mode, vz, vW = modeDoD, z2, w2
		} else {
			mode, vz, vW = modeInt, z1, w1
		}
	}

	flags := byte(unitIdx) | byte(mode)<<2
	if mul {
		flags |= 1 << 4
	}
	minT, maxT := pts[0].T, pts[len(pts)-1].T
	buf := make([]byte, 0, 32+len(pts)*2)
	buf = append(buf, chunkVersion, flags, byte(k), byte(tW), byte(vW))
	buf = binary.AppendUvarint(buf, uint64(len(pts)))
	buf = binary.AppendVarint(buf, minT)
	buf = binary.AppendVarint(buf, maxT)
	buf = binary.AppendVarint(buf, pts[0].T/unit)
	if mode == modeXOR {
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(pts[0].V))
	} else {
		buf = binary.AppendVarint(buf, ns[0])
	}
	w := &bitWriter{buf: buf}
	var prevBits uint64
	if mode == modeXOR {
		prevBits = math.Float64bits(pts[0].V)
	}
	lead, trail := uint(65), uint(0) // no window yet
	for i := 1; i < len(pts); i++ {
		writeNum(w, tz[i], tW)
		if mode != modeXOR {
			writeNum(w, vz[i], vW)
			continue
		}
		cur := math.Float64bits(pts[i].V)
		x := cur ^ prevBits
		prevBits = cur
		if x == 0 {
			w.write(0, 1)
			continue
		}
		l := uint(bits.LeadingZeros64(x))
		t := uint(bits.TrailingZeros64(x))
		if l > 31 {
			l = 31
		}
		if lead != 65 && l >= lead && t >= trail {
			w.write(0b10, 2)
			w.write(x>>trail, 64-lead-trail)
			continue
		}
		lead, trail = l, t
		sig := 64 - l - t
		w.write(0b11, 2)
		w.write(uint64(l), 5)
		w.write(uint64(sig-1), 6)
		w.write(x>>t, sig)
	}
	return w.bytes()
}

// chunkHeader is the part of a chunk readable without decoding points.
type chunkHeader struct {
	Count      int
	MinT, MaxT int64
}

func readChunkHeader(b []byte) (chunkHeader, error) {
	if len(b) < 5 || (b[0] != chunkVersion && b[0] != chunkVersion2) {
		return chunkHeader{}, errChunk
	}
	p := b[5:]
	cnt, n := binary.Uvarint(p)
	if n <= 0 || cnt == 0 || cnt > 1<<24 {
		return chunkHeader{}, errChunk
	}
	p = p[n:]
	minT, n := binary.Varint(p)
	if n <= 0 {
		return chunkHeader{}, errChunk
	}
	p = p[n:]
	maxT, n := binary.Varint(p)
	if n <= 0 || maxT < minT {
		return chunkHeader{}, errChunk
	}
	return chunkHeader{Count: int(cnt), MinT: minT, MaxT: maxT}, nil
}

// decodeChunk appends the chunk's points to dst, of either format.
func decodeChunk(dst []point, b []byte) ([]point, error) {
	if len(b) > 0 && b[0] == chunkVersion2 {
		return decodeChunk2(dst, b)
	}
	return decodeChunk1(dst, b)
}

func decodeChunk1(dst []point, b []byte) ([]point, error) {
	if len(b) < 5 || b[0] != chunkVersion {
		return dst, errChunk
	}
	flags, k, tW, vW := b[1], int(b[2]), uint(b[3]), uint(b[4])
	unitIdx, mode, mul := int(flags&3), int(flags>>2)&3, flags&(1<<4) != 0
	if mode > modeDoD || k >= len(pow10) || tW > 64 || vW > 64 {
		return dst, errChunk
	}
	unit := timeUnits[unitIdx]
	p := b[5:]
	cnt, n := binary.Uvarint(p)
	if n <= 0 || cnt == 0 || cnt > 1<<24 {
		return dst, errChunk
	}
	p = p[n:]
	for i := 0; i < 2; i++ { // min and max time
		if _, n = binary.Varint(p); n <= 0 {
			return dst, errChunk
		}
		p = p[n:]
	}
	t, n := binary.Varint(p)
	if n <= 0 {
		return dst, errChunk
	}
	p = p[n:]
	var prevBits uint64
	var nv int64
	if mode == modeXOR {
		if len(p) < 8 {
			return dst, errChunk
		}
		prevBits = binary.BigEndian.Uint64(p)
		p = p[8:]
	} else {
		nv, n = binary.Varint(p)
		if n <= 0 {
			return dst, errChunk
		}
		p = p[n:]
	}
	scale := func(n int64) float64 {
		if mul {
			return float64(n) * negPow10[k]
		}
		return float64(n) / pow10[k]
	}
	if mode == modeXOR {
		dst = append(dst, point{T: t * unit, V: math.Float64frombits(prevBits)})
	} else {
		dst = append(dst, point{T: t * unit, V: scale(nv)})
	}
	r := &bitReader{b: p}
	var d, vd int64
	lead, trail := uint(0), uint(0)
	for i := uint64(1); i < cnt; i++ {
		d += unzigzag(readNum(r, tW))
		t += d
		switch mode {
		case modeInt:
			nv += unzigzag(readNum(r, vW))
		case modeDoD:
			vd += unzigzag(readNum(r, vW))
			nv += vd
		default:
			if r.read(1) == 1 {
				if r.read(1) == 1 {
					lead = uint(r.read(5))
					sig := uint(r.read(6)) + 1
					if lead+sig > 64 {
						return dst, errChunk
					}
					trail = 64 - lead - sig
				}
				prevBits ^= r.read(64-lead-trail) << trail
			}
		}
		if r.err {
			return dst, fmt.Errorf("%w: truncated at point %d", errChunk, i)
		}
		if mode == modeXOR {
			dst = append(dst, point{T: t * unit, V: math.Float64frombits(prevBits)})
		} else {
			dst = append(dst, point{T: t * unit, V: scale(nv)})
		}
	}
	return dst, nil
}
