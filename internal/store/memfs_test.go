package store

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// memFS is an in-memory FS that remembers what was fsynced, so a test can
// cut the power: everything written after the last fsync is dropped except
// a torn, partly garbled page. It can also inject errors at the Nth write
// or fsync.
type memFS struct {
	mu    sync.Mutex
	files map[string]*memFile
	dirs  map[string]bool
	dead  bool

	// Fault injection on segment files (counted after arm()).
	armed      bool
	writes     int
	syncs      int
	failWrite  int   // 1-based index of the write that fails; 0 = none
	failSync   int   // 1-based index of the fsync that fails
	failErr    error // the injected error
	full       bool  // every write fails with ENOSPC
	writeCalls int
	// dieAtSync makes the power go during the Nth segment fsync (counted
	// from setDieAtSync): the data just written never becomes durable.
	dieAtSync int
	dieSyncs  int
}

func (m *memFS) setDieAtSync(n int) {
	m.mu.Lock()
	m.dieAtSync, m.dieSyncs = n, 0
	m.mu.Unlock()
}

func (m *memFS) isDead() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead
}

type memFile struct {
	data    []byte
	durable []byte
}

func newMemFS() *memFS { return &memFS{files: map[string]*memFile{}, dirs: map[string]bool{}} }

var errPowerCut = &fs.PathError{Op: "io", Path: "memfs", Err: syscall.EIO}

// cut returns the filesystem as found after a power cut and kills this one.
func (m *memFS) cut(rng *rand.Rand) *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead = true
	n := newMemFS()
	for d := range m.dirs {
		n.dirs[d] = true
	}
	for name, f := range m.files {
		data := append([]byte(nil), f.durable...)
		if extra := f.data[min(len(f.durable), len(f.data)):]; len(extra) > 0 && len(f.data) > len(f.durable) {
			// Part of the next page made it to the medium, its end garbled.
			k := rng.IntN(min(len(extra), 4096) + 1)
			torn := append([]byte(nil), extra[:k]...)
			for i := max(0, k-rng.IntN(64)); i < k; i++ {
				torn[i] = byte(rng.Uint32())
			}
			data = append(data, torn...)
		}
		n.files[name] = &memFile{data: data, durable: append([]byte(nil), data...)}
	}
	return n
}

func (m *memFS) arm(write, sync int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.armed, m.writes, m.syncs, m.failWrite, m.failSync, m.failErr = true, 0, 0, write, sync, err
}

func (m *memFS) setFull(full bool) {
	m.mu.Lock()
	m.full = full
	m.mu.Unlock()
}

func (m *memFS) OpenFile(name string, flag int, _ os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return nil, errPowerCut
	}
	name = filepath.Clean(name)
	f, ok := m.files[name]
	if !ok {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if !m.dirs[filepath.Dir(name)] {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		f = &memFile{}
		m.files[name] = f
	}
	if flag&os.O_TRUNC != 0 {
		f.data = f.data[:0]
		f.durable = f.durable[:0]
	}
	return &memHandle{fs: m, f: f, name: name, appendMode: flag&os.O_APPEND != 0}, nil
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	name = filepath.Clean(name)
	if _, ok := m.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.files, name)
	return nil
}

func (m *memFS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	f, ok := m.files[filepath.Clean(oldpath)]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: fs.ErrNotExist}
	}
	delete(m.files, filepath.Clean(oldpath))
	m.files[filepath.Clean(newpath)] = f
	return nil
}

func (m *memFS) MkdirAll(path string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	for p := filepath.Clean(path); p != "/" && p != "."; p = filepath.Dir(p) {
		m.dirs[p] = true
	}
	return nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

func (m *memFS) ReadDir(name string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return nil, errPowerCut
	}
	name = filepath.Clean(name)
	var out []os.DirEntry
	for p, f := range m.files {
		if filepath.Dir(p) == name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{name: filepath.Base(p), size: int64(len(f.data))}))
		}
	}
	for d := range m.dirs {
		if filepath.Dir(d) == name && d != name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{name: filepath.Base(d), dir: true}))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *memFS) SyncDir(string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	return nil
}

type memHandle struct {
	fs         *memFS
	f          *memFile
	name       string
	pos        int64
	appendMode bool
}

func (h *memHandle) segment() bool { return strings.HasSuffix(h.name, segSuffix) }

func (h *memHandle) Read(p []byte) (int, error) {
	n, err := h.ReadAt(p, h.pos)
	h.pos += int64(n)
	return n, err
}

func (h *memHandle) ReadAt(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.fs.dead {
		return 0, errPowerCut
	}
	if off >= int64(len(h.f.data)) {
		return 0, io.EOF
	}
	n := copy(p, h.f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (h *memHandle) Write(p []byte) (int, error) {
	m := h.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return 0, errPowerCut
	}
	m.writeCalls++
	if m.full {
		return 0, &fs.PathError{Op: "write", Path: h.name, Err: syscall.ENOSPC}
	}
	if m.armed && h.segment() {
		m.writes++
		if m.writes == m.failWrite {
			if errorsIsNoSpace(m.failErr) {
				// A partial write, as a real full disk produces.
				half := p[:len(p)/2]
				h.writeLocked(half)
				m.full = true
				return len(half), &fs.PathError{Op: "write", Path: h.name, Err: m.failErr}
			}
			return 0, &fs.PathError{Op: "write", Path: h.name, Err: m.failErr}
		}
	}
	h.writeLocked(p)
	return len(p), nil
}

func errorsIsNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

func (h *memHandle) writeLocked(p []byte) {
	if h.appendMode {
		h.pos = int64(len(h.f.data))
	}
	end := h.pos + int64(len(p))
	for int64(len(h.f.data)) < end {
		h.f.data = append(h.f.data, 0)
	}
	copy(h.f.data[h.pos:], p)
	h.pos = end
}

func (h *memHandle) Seek(off int64, whence int) (int64, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	switch whence {
	case io.SeekStart:
		h.pos = off
	case io.SeekCurrent:
		h.pos += off
	case io.SeekEnd:
		h.pos = int64(len(h.f.data)) + off
	}
	return h.pos, nil
}

func (h *memHandle) Close() error { return nil }

func (h *memHandle) Sync() error {
	m := h.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	if m.dieAtSync > 0 && h.segment() {
		m.dieSyncs++
		if m.dieSyncs == m.dieAtSync {
			m.dead = true
			return errPowerCut
		}
	}
	if m.armed && h.segment() {
		m.syncs++
		if m.syncs == m.failSync {
			return &fs.PathError{Op: "sync", Path: h.name, Err: m.failErr}
		}
	}
	h.f.durable = append(h.f.durable[:0], h.f.data...)
	return nil
}

func (h *memHandle) Truncate(size int64) error {
	m := h.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errPowerCut
	}
	if size < int64(len(h.f.data)) {
		h.f.data = h.f.data[:size]
	}
	if size < int64(len(h.f.durable)) {
		h.f.durable = h.f.durable[:size]
	}
	return nil
}

func (h *memHandle) Stat() (os.FileInfo, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	return memInfo{name: filepath.Base(h.name), size: int64(len(h.f.data))}, nil
}
