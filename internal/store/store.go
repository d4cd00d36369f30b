package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// Errors returned by the store; check them with errors.Is.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store closed")
	// ErrReadOnly is returned by Append while the disk is full; a background
	// probe lifts it when space returns.
	ErrReadOnly = errors.New("store read-only: no space left on device")
	// ErrFatal wraps an fsync or I/O error after which the store refuses all
	// writes: the page cache may have dropped data, so the only safe way on
	// is a restart that replays the log.
	ErrFatal = errors.New("store failed")
	// ErrCorrupt reports damage before the tail of the log or in a chunk.
	ErrCorrupt = errors.New("store corrupt")
	// ErrInvalid rejects a measurement without device, quantity or time.
	ErrInvalid = errors.New("invalid measurement")
)

// Bucket names in the bbolt file.
var (
	bucketMeta    = []byte("meta")
	bucketSeries  = []byte("series")
	bucketChunks  = []byte("chunks")
	bucketHot     = []byte("hot")
	bucketCursors = []byte("cursors")
	bucketKV      = []byte("kv")
	keySealedSeq  = []byte("sealed_seq")
)

// Options configure a Store. Zero values take the documented defaults;
// zero fields of Config take DefaultConfig's.
type Options struct {
	// Dir holds store.db (bbolt) and wal/ (segments). Required.
	Dir string
	// Config is the daemon's store section.
	Config Config
	// FS is the filesystem of the log; OSFS{} when nil.
	FS         FS
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// SegmentSize rolls the log to a new segment (and seals) when reached.
	// Default 4 MiB.
	SegmentSize int64
	// SealInterval is how often the in-memory head is sealed into
	// compressed chunks in bbolt, which bounds replay time and memory.
	// Default 15 min.
	SealInterval time.Duration
	// ChunkPoints caps the points per sealed chunk. Default 4096.
	ChunkPoints int
	// ChunkBytes caps the encoded size of a chunk written by a seal.
	// Default 480: a seal rewrites the last chunk of every series that
	// got points, so it stays small (flash writes per seal).
	ChunkBytes int
	// ColdChunkBytes is the size closed chunks are merged into (mergeCold)
	// once a series has enough of them. Default 2008: two such chunks with
	// their keys and bbolt's element headers fill one 4 KiB page, so a full
	// node is one page and the pages a seal frees are reused (measured
	// on a year of 20 meters: 4048-byte chunks code 4 % smaller, but
	// bbolt keeps two to four of them in one multi-page node, and the file
	// grew to 1.35 bytes per point against 1.19), and zstd still learns
	// each chunk's statistics over 2,000+ points.
	ColdChunkBytes int
	// MaintenanceInterval paces sealing checks, retention, budget and the
	// read-only probe. Default 5 s.
	MaintenanceInterval time.Duration
	// RetentionInterval is how often retention and the disk budget are
	// enforced. Default 10 min.
	RetentionInterval time.Duration
	// Retention maps a quantity class (see ClassOf) to how long its data is
	// kept; a missing or zero entry keeps data forever (within
	// Config.DiskBudget).
	Retention map[string]time.Duration
	// ClassOf names the retention class of a quantity. Default: "counter"
	// for cumulative quantities, "gauge" otherwise.
	ClassOf func(measurement.Quantity) string
	// TimeResolution truncates measurement times on append (in the log
	// too, so sinks see the same times as queries). Uplinks of sensors come
	// minutes apart and their receive times jitter by milliseconds, which
	// would cost ~9 bits per point in chunks for no information. A point
	// whose truncated time already holds another value of its series keeps
	// 1 ms, or its full time if that is taken too, so no point replaces
	// another silently (see resolver). Default 1 s; negative keeps
	// nanoseconds.
	TimeResolution time.Duration
	// NoBackgroundConvert leaves chunks of format 1 as they are on Open
	// (they stay readable); by default a store written before format 2
	// is converted in the background.
	NoBackgroundConvert bool
	// QueueSize bounds the batches waiting for the group commit; Append
	// blocks (honouring its ctx) when it is full. Default 1024.
	QueueSize int
}

func (o *Options) defaults() {
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "store")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config.CommitInterval <= 0 {
		o.Config.CommitInterval = DefaultConfig().CommitInterval
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = 4 << 20
	}
	if o.SealInterval <= 0 {
		o.SealInterval = 15 * time.Minute
	}
	if o.ChunkPoints <= 0 {
		o.ChunkPoints = 4096
	}
	o.ChunkPoints = min(o.ChunkPoints, maxChunk2Points)
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 480
	}
	if o.ColdChunkBytes <= 0 {
		o.ColdChunkBytes = 2008
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = 5 * time.Second
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = 10 * time.Minute
	}
	if o.ClassOf == nil {
		o.ClassOf = DefaultClass
	}
	if o.TimeResolution == 0 {
		o.TimeResolution = time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
}

// DefaultClass is the default retention class of a quantity.
func DefaultClass(q measurement.Quantity) string {
	if measurement.Cumulative(q) {
		return "counter"
	}
	return "gauge"
}

// SeriesInfo is the metadata of one series.
type SeriesInfo struct {
	Key      string               `json:"key"`
	Device   string               `json:"device"`
	Quantity measurement.Quantity `json:"quantity"`
	Channel  int                  `json:"channel,omitempty"`
	Unit     string               `json:"unit"`
}

// seriesMeta is SeriesInfo plus what the store needs to find chunks.
type seriesMeta struct {
	SeriesInfo
	ID uint64 `json:"id"` // 0 until first sealed
	// MaxSpan is the longest time range of any chunk, so a range query
	// knows how far before its start a chunk may begin.
	MaxSpan int64 `json:"max_span"`
}

type headSeries struct {
	pts    []point
	sorted bool
}

type appendReq struct {
	ms    []measurement.Measurement
	keys  []string // series keys of ms, set by resolveBatch
	done  chan error
	cb    func(error)
	start time.Time
}

func (r *appendReq) finish(s *Store, err error) {
	if err == nil {
		s.m.appendLatency.Observe(time.Since(r.start).Seconds())
	}
	if r.cb != nil {
		r.cb(err)
		return
	}
	r.done <- err
}

// Store is the embedded time-series store and durable log.
type Store struct {
	opts   Options
	walDir string
	fs     FS
	db     *bolt.DB
	log    *slog.Logger
	m      *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	reqs   chan *appendReq
	rollc  chan chan error
	kick   chan struct{}

	mu        sync.RWMutex
	head      map[string]*headSeries
	headN     int
	sealing   map[string][]point
	series    map[string]*seriesMeta
	segs      []*segment
	cursors   map[string]uint64
	committed uint64
	notify    chan struct{}
	sealedSeq uint64

	// Owned by the commit loop.
	res          *resolver
	cur          File
	curSeg       *segment
	nextSeq      uint64
	lastSync     time.Time
	buf          []byte
	needTruncate atomic.Bool

	errMu    sync.Mutex
	fatalErr error
	failed   chan struct{} // closed by fail
	readOnly atomic.Bool

	gate       sync.RWMutex
	gateClosed bool

	sealMu   sync.Mutex // one bbolt maintenance writer at a time
	closeMu  sync.Mutex
	closed   bool
	lastSeal atomic.Int64 // Unix ns; Seal runs from Close as well
	lastRet  time.Time    // maintain loop only

	// Recovery is what Open found and did in the log.
	Recovery Report
}

// Open opens or creates the store in opts.Dir, replaying the log.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open store: no dir")
	}
	opts.defaults()
	s := &Store{
		opts:    opts,
		walDir:  filepath.Join(opts.Dir, "wal"),
		fs:      opts.FS,
		log:     opts.Logger,
		head:    map[string]*headSeries{},
		series:  map[string]*seriesMeta{},
		cursors: map[string]uint64{},
		notify:  make(chan struct{}),
		reqs:    make(chan *appendReq, opts.QueueSize),
		rollc:   make(chan chan error),
		kick:    make(chan struct{}, 1),
		failed:  make(chan struct{}),
		res:     newResolver(opts.TimeResolution),
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.fs.MkdirAll(s.walDir, 0o755); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := bolt.Open(filepath.Join(opts.Dir, "store.db"), 0o644, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.db = db
	s.m = newMetrics(opts.Registerer, s)
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.recover(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	convert, err := s.needsConversion()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.lastSeal.Store(opts.Now().UnixNano())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.commitLoop()
	go s.maintainLoop()
	if convert && !opts.NoBackgroundConvert {
		s.wg.Add(1)
		go s.compactInBackground()
	}
	return s, nil
}

func (s *Store) load() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketSeries, bucketChunks, bucketCold, bucketColdIndex, bucketHot, bucketCursors, bucketKV} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keySealedSeq); len(v) == 8 {
			s.sealedSeq = binary.BigEndian.Uint64(v)
		}
		if err := tx.Bucket(bucketSeries).ForEach(func(k, v []byte) error {
			var m seriesMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: series %q: %w", ErrCorrupt, k, err)
			}
			m.Key = string(k)
			s.series[m.Key] = &m
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
			if len(v) == 8 {
				s.cursors[string(k)] = binary.BigEndian.Uint64(v)
			}
			return nil
		})
	})
}

// recover replays the log into the head and opens the segment to append to.
func (s *Store) recover() error {
	segs, rep, err := scanWAL(s.fs, s.walDir, s.sealedSeq, walOpen, func(seq uint64, p []byte) error {
		if seq <= s.sealedSeq {
			return nil
		}
		rec, err := decodePayload(p)
		if err != nil {
			return err
		}
		s.applyLocked(rec.Measurements, nil)
		return nil
	})
	s.Recovery = rep
	if err != nil {
		return err
	}
	if rep.TornTail {
		s.m.tornTails.Inc()
		s.log.Warn("truncated torn tail of the log", "bytes", rep.TornBytes)
	}
	s.nextSeq = s.sealedSeq + 1
	for _, sg := range segs {
		if sg.last+1 > s.nextSeq {
			s.nextSeq = sg.last + 1
		}
	}
	s.committed = s.nextSeq - 1
	// Reuse an empty last segment (a crash right after a roll), otherwise
	// start a fresh one so a torn or old file is never appended to.
	if n := len(segs); n > 0 && segs[n-1].size == 0 && segs[n-1].first == s.nextSeq {
		s.curSeg = segs[n-1]
		segs = segs[:n-1]
	} else {
		s.curSeg = &segment{first: s.nextSeq, last: s.nextSeq - 1, path: filepath.Join(s.walDir, segName(s.nextSeq))}
	}
	f, err := s.fs.OpenFile(s.curSeg.path, os.O_CREATE|os.O_RDWR|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	if err := s.fs.SyncDir(s.walDir); err != nil {
		f.Close()
		return fmt.Errorf("sync wal dir: %w", err)
	}
	s.cur = f
	s.segs = append(segs, s.curSeg)
	s.updateWALBytes()
	return nil
}

// fail makes the store refuse writes for good.
func (s *Store) fail(err error) error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.fatalErr == nil {
		s.fatalErr = fmt.Errorf("%w: %w", ErrFatal, err)
		close(s.failed)
		s.log.Error("store stopped; restart to replay the log", "err", err)
	}
	return s.fatalErr
}

// Run blocks until ctx is done (nil) or the store fails for good (the
// ErrFatal error), so the daemon's errgroup stops and a restart replays the
// log. The store works without Run; Close still has to be called.
func (s *Store) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-s.failed:
		return s.Err()
	}
}

// Err returns the fatal error that stopped the store, if any.
func (s *Store) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.fatalErr
}

// ReadOnly reports whether writes are refused because the disk is full.
func (s *Store) ReadOnly() bool { return s.readOnly.Load() }

func (s *Store) setReadOnly(on bool) {
	if s.readOnly.Swap(on) != on {
		if on {
			s.m.readOnly.Set(1)
			s.log.Error("disk full: store is read-only until space returns")
		} else {
			s.m.readOnly.Set(0)
			s.log.Info("disk space back: store writable again")
		}
	}
}

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// Append stores ms durably: it returns nil only after the record holding
// them is fsynced. Many concurrent callers share one fsync, so a caller
// waits up to Config.CommitInterval; a pipeline that must not wait uses
// AppendAsync.
func (s *Store) Append(ctx context.Context, ms []measurement.Measurement) error {
	if len(ms) == 0 {
		return nil
	}
	req, err := s.newReq(ms)
	if err != nil {
		return err
	}
	req.done = make(chan error, 1)
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The record may still be committed; the caller gets no ack.
		return ctx.Err()
	}
}

// AppendAsync queues ms and calls done with nil once they are fsynced, or
// with the error that kept them from the log. done runs on the commit
// goroutine and must not block. An error returned by AppendAsync itself
// means done will not be called.
func (s *Store) AppendAsync(ctx context.Context, ms []measurement.Measurement, done func(error)) error {
	if done == nil {
		return errors.New("append async: nil callback")
	}
	req, err := s.newReq(ms)
	if err != nil {
		return err
	}
	req.cb = done
	return s.enqueue(ctx, req)
}

func (s *Store) newReq(ms []measurement.Measurement) (*appendReq, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	if s.readOnly.Load() {
		return nil, ErrReadOnly
	}
	// A copy: the commit loop sets the stored times (resolveBatch).
	cp := make([]measurement.Measurement, len(ms))
	for i, m := range ms {
		if m.Device == "" || m.Quantity == "" || m.Time.IsZero() {
			return nil, fmt.Errorf("append: %w: %d (device %q, quantity %q)", ErrInvalid, i, m.Device, m.Quantity)
		}
		cp[i] = m
	}
	return &appendReq{ms: cp, start: time.Now()}, nil
}

func (s *Store) enqueue(ctx context.Context, req *appendReq) error {
	// The gate makes sure nothing is queued after Close drained the queue.
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.gateClosed {
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctxDone():
		return ErrClosed
	}
}

func (s *Store) ctxDone() <-chan struct{} { return s.ctx.Done() }

func (s *Store) commitLoop() {
	defer s.wg.Done()
	for {
		var batch []*appendReq
		select {
		case <-s.ctx.Done():
			s.drain(ErrClosed)
			return
		case rc := <-s.rollc:
			rc <- s.roll()
			continue
		case r := <-s.reqs:
			batch = append(batch, r)
		}
		// Group commit: fsync at most every Config.CommitInterval, taking every
		// request that arrives meanwhile into the same fsync.
		if wait := time.Until(s.lastSync.Add(s.opts.Config.CommitInterval)); wait > 0 {
			t := time.NewTimer(wait)
		collect:
			for {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				case <-t.C:
					break collect
				case <-s.ctx.Done():
					t.Stop()
					break collect
				}
			}
		}
	more:
		for {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.commit(batch)
	}
}

func (s *Store) drain(err error) {
	for {
		select {
		case r := <-s.reqs:
			r.finish(s, err)
		default:
			return
		}
	}
}

func (s *Store) commit(batch []*appendReq) {
	failAll := func(err error) {
		for _, r := range batch {
			r.finish(s, err)
		}
	}
	if err := s.Err(); err != nil {
		failAll(err)
		return
	}
	if s.readOnly.Load() {
		failAll(ErrReadOnly)
		return
	}
	if s.needTruncate.Load() {
		if err := s.cur.Truncate(s.curSeg.size); err != nil {
			s.setReadOnly(true)
			failAll(ErrReadOnly)
			return
		}
		s.needTruncate.Store(false)
	}
	s.resolveBatch(batch)
	buf := s.buf[:0]
	seq := s.nextSeq
	points := 0
	for _, r := range batch {
		buf = encodeFrame(buf, seq, r.ms)
		seq++
		points += len(r.ms)
	}
	s.buf = buf
	if _, err := s.cur.Write(buf); err != nil {
		if isNoSpace(err) {
			// Drop the partial frame so the log stays clean; the probe
			// retries the truncation if even that fails.
			if terr := s.cur.Truncate(s.curSeg.size); terr != nil {
				s.needTruncate.Store(true)
			}
			s.setReadOnly(true)
			failAll(ErrReadOnly)
			return
		}
		failAll(s.fail(fmt.Errorf("wal write: %w", err)))
		return
	}
	if err := s.cur.Sync(); err != nil {
		failAll(s.fail(fmt.Errorf("wal fsync: %w", err)))
		return
	}
	s.lastSync = time.Now()
	s.nextSeq = seq
	s.mu.Lock()
	s.curSeg.size += int64(len(buf))
	s.curSeg.last = seq - 1
	for _, r := range batch {
		s.applyLocked(r.ms, r.keys)
	}
	s.committed = seq - 1
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	s.m.walWritten.Add(float64(len(buf)))
	s.m.points.Add(float64(points))
	s.m.fsyncs.Inc()
	s.updateWALBytes()
	failAll(nil)
	if s.curSeg.size >= s.opts.SegmentSize {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// applyLocked adds measurements to the head; s.mu held (or single-threaded
// during recovery). keys are the series keys of ms if known, else nil.
func (s *Store) applyLocked(ms []measurement.Measurement, keys []string) {
	for i, m := range ms {
		var key string
		if keys != nil {
			key = keys[i]
		} else {
			key = m.SeriesKey()
		}
		if meta, ok := s.series[key]; !ok {
			s.series[key] = &seriesMeta{SeriesInfo: SeriesInfo{Key: key, Device: m.Device, Quantity: m.Quantity, Channel: m.Channel, Unit: m.Unit}}
		} else if m.Unit != "" && meta.Unit != m.Unit {
			meta.Unit = m.Unit
		}
		h := s.head[key]
		if h == nil {
			h = &headSeries{sorted: true}
			s.head[key] = h
		}
		t := m.Time.UnixNano()
		if n := len(h.pts); n > 0 && t < h.pts[n-1].T {
			h.sorted = false
		}
		h.pts = append(h.pts, point{T: t, V: m.Value})
		s.headN++
	}
}

// roll closes the current segment and starts a new one; commit loop only.
func (s *Store) roll() error {
	if s.curSeg.size == 0 {
		return nil
	}
	seg := &segment{first: s.nextSeq, last: s.nextSeq - 1, path: filepath.Join(s.walDir, segName(s.nextSeq))}
	f, err := s.fs.OpenFile(seg.path, os.O_CREATE|os.O_RDWR|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("roll wal: %w", err)
	}
	if err := s.fs.SyncDir(s.walDir); err != nil {
		f.Close()
		_ = s.fs.Remove(seg.path) // an empty segment; the next roll truncates it anyway
		return fmt.Errorf("roll wal: %w", err)
	}
	old := s.cur
	s.mu.Lock()
	s.cur, s.curSeg = f, seg
	s.segs = append(s.segs, seg)
	s.mu.Unlock()
	if err := old.Close(); err != nil {
		s.log.Warn("close wal segment", "err", err)
	}
	return nil
}

func (s *Store) updateWALBytes() {
	s.mu.RLock()
	var n int64
	for _, sg := range s.segs {
		n += sg.size
	}
	s.mu.RUnlock()
	s.m.walBytes.Set(float64(n))
}

func (s *Store) walSize() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, sg := range s.segs {
		n += sg.size
	}
	return n
}

// Close seals the head, stops the background work and closes the files.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	var errs []error
	if s.Err() == nil && !s.readOnly.Load() {
		if err := s.Seal(); err != nil {
			errs = append(errs, err)
		}
	}
	s.cancel()
	s.gate.Lock()
	s.gateClosed = true
	s.gate.Unlock()
	s.wg.Wait()
	s.drain(ErrClosed)
	s.closed = true
	if err := s.cur.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, err)
	}
	s.m.unregister()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

func (s *Store) maintainLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
			s.maintain(true)
		case <-t.C:
			s.maintain(false)
		}
	}
}

// maxHeadPoints bounds memory between seals.
const maxHeadPoints = 1 << 20

func (s *Store) maintain(full bool) {
	if s.Err() != nil {
		return
	}
	if s.readOnly.Load() {
		s.probe()
		return
	}
	now := s.opts.Now()
	s.mu.RLock()
	headN := s.headN
	s.mu.RUnlock()
	if full || headN > maxHeadPoints || now.Sub(time.Unix(0, s.lastSeal.Load())) >= s.opts.SealInterval {
		if err := s.Seal(); err != nil {
			s.log.Error("seal", "err", err)
		}
	}
	if now.Sub(s.lastRet) >= s.opts.RetentionInterval {
		s.lastRet = now
		if err := s.EnforceRetention(); err != nil {
			s.log.Error("retention", "err", err)
		}
	}
}

// probe tests whether the disk has space again.
func (s *Store) probe() {
	p := filepath.Join(s.walDir, ".probe")
	f, err := s.fs.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return
	}
	_, werr := f.Write(make([]byte, 64<<10))
	serr := f.Sync()
	f.Close()
	_ = s.fs.Remove(p) // a leftover probe is truncated by the next one
	if werr != nil || serr != nil {
		return
	}
	s.setReadOnly(false)
}

// sortPoints sorts by time and keeps the last of equal timestamps.
func sortPoints(pts []point) []point {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].T < pts[j].T })
	return dedupe(pts)
}

func dedupe(pts []point) []point {
	if len(pts) < 2 {
		return pts
	}
	out := pts[:1]
	for _, p := range pts[1:] {
		if p.T == out[len(out)-1].T {
			out[len(out)-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}
