package store

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

// WAL frame: 4 bytes payload length, 4 bytes CRC32C of the payload, payload.
// Payload: 8 bytes sequence number, uvarint count, then per measurement
// device, quantity, unit (uvarint-length strings), varint channel, 8 bytes
// float bits, varint Unix nanoseconds, uvarint meta count + key/value strings.
const (
	frameHeader = 8
	// maxRecord bounds a frame so a corrupt length cannot make us allocate
	// gigabytes.
	maxRecord = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errFrame = errors.New("bad wal frame")

// Record is one appended batch as read back from the log by a Cursor.
type Record struct {
	// Seq is the record's position in the log; pass it to Cursor.Commit.
	Seq          uint64
	Measurements []measurement.Measurement
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeFrame appends a complete frame for ms with sequence seq to b.
func encodeFrame(b []byte, seq uint64, ms []measurement.Measurement) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = appendString(b, m.Device)
		b = appendString(b, string(m.Quantity))
		b = appendString(b, m.Unit)
		b = binary.AppendVarint(b, int64(m.Channel))
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(m.Value))
		b = binary.AppendVarint(b, m.Time.UnixNano())
		b = binary.AppendUvarint(b, uint64(len(m.Meta)))
		for k, v := range m.Meta {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	payload := b[start+frameHeader:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

type payloadReader struct {
	b   []byte
	err bool
}

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) u64() uint64 {
	if len(r.b) < 8 {
		r.err = true
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *payloadReader) str() string {
	l := r.uvarint()
	if r.err || l > uint64(len(r.b)) {
		r.err = true
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

// decodePayload decodes a CRC-checked payload.
func decodePayload(p []byte) (Record, error) {
	r := &payloadReader{b: p}
	rec := Record{Seq: r.u64()}
	n := r.uvarint()
	if r.err || n > uint64(len(p)) {
		return rec, errFrame
	}
	rec.Measurements = make([]measurement.Measurement, 0, n)
	for i := uint64(0); i < n && !r.err; i++ {
		var m measurement.Measurement
		m.Device = r.str()
		m.Quantity = measurement.Quantity(r.str())
		m.Unit = r.str()
		m.Channel = int(r.varint())
		m.Value = math.Float64frombits(r.u64())
		m.Time = time.Unix(0, r.varint()).UTC()
		nm := r.uvarint()
		if nm > uint64(len(r.b)) {
			r.err = true
			break
		}
		if nm > 0 {
			m.Meta = make(map[string]string, nm)
			for j := uint64(0); j < nm && !r.err; j++ {
				k := r.str()
				m.Meta[k] = r.str()
			}
		}
		rec.Measurements = append(rec.Measurements, m)
	}
	if r.err || len(r.b) != 0 {
		return rec, errFrame
	}
	return rec, nil
}

// frameSeq reads the sequence number of a frame payload without decoding it.
func frameSeq(p []byte) uint64 {
	if len(p) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

// readFrame reads one frame from r at off (r limited to size bytes). It
// returns the payload and the frame length. io.EOF means a clean end.
func readFrame(r io.ReaderAt, off, size int64, hdr []byte) ([]byte, int64, error) {
	if off == size {
		return nil, 0, io.EOF
	}
	if size-off < frameHeader {
		return nil, 0, errFrame
	}
	if _, err := r.ReadAt(hdr[:frameHeader], off); err != nil {
		return nil, 0, err
	}
	l := int64(binary.BigEndian.Uint32(hdr))
	sum := binary.BigEndian.Uint32(hdr[4:])
	if l < 9 || l > maxRecord || off+frameHeader+l > size {
		return nil, 0, errFrame
	}
	p := make([]byte, l)
	if _, err := r.ReadAt(p, off+frameHeader); err != nil {
		return nil, 0, err
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return nil, 0, errFrame
	}
	return p, frameHeader + l, nil
}
