package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const segSuffix = ".wal"

// segment is one WAL file. Its name is the sequence number of its first
// record, so a cursor finds the file for a position without reading.
type segment struct {
	first uint64 // sequence number of the first record
	last  uint64 // last durable record; first-1 when empty
	size  int64  // durable size in bytes
	path  string
}

func segName(first uint64) string { return fmt.Sprintf("%016x%s", first, segSuffix) }

func listSegments(fsys FS, dir string) ([]*segment, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list wal: %w", err)
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 16, 64)
		if err != nil || first == 0 {
			continue
		}
		segs = append(segs, &segment{first: first, last: first - 1, path: filepath.Join(dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

func readAll(fsys FS, path string) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Corruption describes damage found in the log.
type Corruption struct {
	Segment string
	Offset  int64
	Reason  string
}

// Report is the result of Check and Repair (and of recovery in Open).
type Report struct {
	Segments  int
	Records   int
	Points    int
	FirstSeq  uint64
	LastSeq   uint64
	TornTail  bool  // the last segment ended in a partly written record
	TornBytes int64 // bytes after the last good record of the last segment
	Corrupt   []Corruption
	// Series and Chunks count the sealed data; BadChunks those that do not decode.
	Series    int
	Chunks    int
	BadChunks int
	// Actions lists what Repair changed.
	Actions []string
}

type walMode int

const (
	walOpen walMode = iota
	walCheck
	walRepair
)

// nextValid reports whether a frame with a plausible sequence number after
// prev and a valid CRC starts anywhere in b. That tells a torn tail (garbage
// or nothing after the break) from corruption in the middle of good data.
func nextValid(b []byte, prev uint64) bool {
	for i := 0; i+frameHeader+8 <= len(b); i++ {
		l := int(binary.BigEndian.Uint32(b[i:]))
		if l < 9 || l > maxRecord || i+frameHeader+l > len(b) {
			continue
		}
		seq := binary.BigEndian.Uint64(b[i+frameHeader:])
		if seq <= prev || seq > prev+1<<32 {
			continue
		}
		if crc32.Checksum(b[i+frameHeader:i+frameHeader+l], castagnoli) == binary.BigEndian.Uint32(b[i+4:]) {
			return true
		}
	}
	return false
}

// scanWAL validates every segment in dir. onRecord (optional) receives each
// valid record's payload. In walOpen mode a torn tail of the last segment is
// truncated; in walRepair mode the log is also cut at the first corruption
// and later segments are moved to a quarantine directory.
func scanWAL(fsys FS, dir string, sealed uint64, mode walMode, onRecord func(seq uint64, payload []byte) error) ([]*segment, Report, error) {
	var rep Report
	segs, err := listSegments(fsys, dir)
	if err != nil {
		return nil, rep, err
	}
	rep.Segments = len(segs)
	var prev uint64 // last seen sequence number
	for i, s := range segs {
		lastSeg := i == len(segs)-1
		data, err := readAll(fsys, s.path)
		if err != nil {
			return nil, rep, fmt.Errorf("read %s: %w", s.path, err)
		}
		if prev != 0 && s.first != prev+1 && (s.first <= prev || s.first-1 > sealed) {
			c := Corruption{Segment: s.path, Reason: fmt.Sprintf("sequence gap: segment starts at %d after %d", s.first, prev)}
			if mode != walRepair {
				rep.Corrupt = append(rep.Corrupt, c)
				return segs, rep, fmt.Errorf("%w: %s: %s", ErrCorrupt, c.Segment, c.Reason)
			}
			if err := quarantine(fsys, dir, segs[i:], &rep); err != nil {
				return nil, rep, err
			}
			rep.Corrupt = append(rep.Corrupt, c)
			return segs[:i], rep, nil
		}
		var off int64
		expect := s.first
		var badReason string
		for {
			p, n, err := readFrame(bytesReaderAt(data), off, int64(len(data)), make([]byte, frameHeader))
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil && frameSeq(p) != expect {
				err = fmt.Errorf("sequence %d, want %d", frameSeq(p), expect)
			}
			if err != nil {
				badReason = err.Error()
				break
			}
			if onRecord != nil {
				if err := onRecord(expect, p); err != nil {
					badReason = err.Error()
					break
				}
			}
			rep.Records++
			if rep.FirstSeq == 0 {
				rep.FirstSeq = expect
			}
			rep.LastSeq = expect
			off += n
			expect++
		}
		s.last, s.size = expect-1, off
		if expect > s.first {
			prev = expect - 1
		} else if prev == 0 {
			prev = s.first - 1
		}
		if badReason == "" {
			continue
		}
		torn := lastSeg && !nextValid(data[off:], expect-1)
		if torn {
			rep.TornTail, rep.TornBytes = true, int64(len(data))-off
			if mode != walCheck {
				if err := truncateFile(fsys, s.path, off); err != nil {
					return nil, rep, fmt.Errorf("truncate torn tail of %s: %w", s.path, err)
				}
				rep.Actions = append(rep.Actions, fmt.Sprintf("truncated torn tail of %s at %d (%d bytes)", s.path, off, rep.TornBytes))
			}
			continue
		}
		c := Corruption{Segment: s.path, Offset: off, Reason: badReason}
		rep.Corrupt = append(rep.Corrupt, c)
		if mode != walRepair {
			return segs, rep, fmt.Errorf("%w: %s at offset %d: %s (run `loraedge store repair`)", ErrCorrupt, s.path, off, badReason)
		}
		if err := truncateFile(fsys, s.path, off); err != nil {
			return nil, rep, fmt.Errorf("truncate %s: %w", s.path, err)
		}
		rep.Actions = append(rep.Actions, fmt.Sprintf("cut %s at offset %d (%d bytes dropped)", s.path, off, int64(len(data))-off))
		if err := quarantine(fsys, dir, segs[i+1:], &rep); err != nil {
			return nil, rep, err
		}
		return segs[:i+1], rep, nil
	}
	return segs, rep, nil
}

// quarantine moves segments out of the log instead of deleting them, so an
// operator can still look at what was cut off.
func quarantine(fsys FS, dir string, segs []*segment, rep *Report) error {
	if len(segs) == 0 {
		return nil
	}
	q := filepath.Join(dir, "quarantine-"+time.Now().UTC().Format("20060102T150405"))
	if err := fsys.MkdirAll(q, 0o755); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	for _, s := range segs {
		dst := filepath.Join(q, filepath.Base(s.path))
		if err := fsys.Rename(s.path, dst); err != nil {
			return fmt.Errorf("quarantine %s: %w", s.path, err)
		}
		rep.Actions = append(rep.Actions, fmt.Sprintf("moved %s to %s", s.path, dst))
	}
	return fsys.SyncDir(dir)
}

func truncateFile(fsys FS, path string, size int64) error {
	f, err := fsys.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
