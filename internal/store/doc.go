// Package store is loraedge's embedded time-series store and durable log.
//
// Layout of Options.Dir:
//
//	wal/<first-seq>.wal  log segments: CRC32C-framed records, one per Append
//	store.db             bbolt: series metadata, sealed chunks, sink cursors,
//	                     the sealed position, and KV namespaces for others
//
// Write path. Append encodes its batch as one record and hands it to the
// commit loop, which writes every record that arrives within
// Config.CommitInterval (default 10 ms) and fsyncs once for all of them
// (group commit); Append returns after that fsync. A power cut therefore
// loses at most one commit interval, and kill -9 loses nothing that was
// acknowledged. An fsync or write error (other than ENOSPC) stops the store
// for good (ErrFatal): after a failed fsync the kernel may have dropped the
// dirty pages, so continuing could acknowledge data that is gone; the daemon
// restarts and replays the log instead. ENOSPC on write makes the store
// read-only (ErrReadOnly) with the partial record cut off; a background
// probe lifts it when space returns.
//
// Read path. Durable records go to an in-memory head; every SealInterval
// (and when a segment is full) the head is sealed into compressed chunks
// in bbolt, keyed by series id and start time, in the same transaction that
// records the sealed position. Range, Last and Aggregate read chunks and
// head together. Segments are deleted once sealed and passed by every
// cursor; the budget may evict them earlier (the cursor then skips ahead and
// counts it).
//
// Recovery. Open scans all segments: a torn tail of the last segment (a
// bad record after which no valid record follows) is truncated and counted;
// any other damage is ErrCorrupt and needs Repair (`loraedge store repair`),
// which cuts the log at the damage and moves later segments aside.
//
// Chunks. Format 2 (chunk2.go) codes a chunk whose values are exact
// decimals n/10^k as integers: timestamps as delta-of-deltas, values as
// residuals from the best of six predictors (last delta, mean of the last
// 2 or 4, or the mean delta at the same time of the 1 or 4 days before),
// both through zstd; a few values that are no decimal at the chunk's scale
// are kept as float bits beside them, so every float64 round-trips bit for
// bit. Other chunks stay in format 1 (chunk.go): XOR-coded floats
// (Gorilla) with a bit coder written here. Seals write small chunks
// (ChunkBytes, 480), since the last chunk of every series is rewritten
// with each seal; once a series has enough closed ones, they are merged
// into cold chunks of 2 KiB (ColdChunkBytes), two of which fill one of
// bbolt's pages, and which give zstd thousands of points to learn from. Stores written before
// format 2 open as they are and are converted in the background
// (Store.Compact, also `loraedge store compact`, which then rewrites the
// bbolt file without its free pages, CompactFile).
//
// Times. A point is stored at Options.TimeResolution (1 s) unless its
// series already holds another value there; then it keeps its millisecond,
// or its nanosecond (resolve.go). The commit loop decides before the record
// is written, so log, queries and sinks agree. Same time and value is a
// duplicate and overwrites idempotently; only different values at the same
// nanosecond collapse (the later one wins). Both are counted in
// loraedge_store_points_collapsed_total{reason}. Regular data stays at whole
// seconds; 1 % of road uplinks doubled within a second costs 1.42 instead
// of 1.29 bytes per point.
//
// Measured (go test -run '^$' -bench 'BytesPerPoint|EntropyStage' -benchtime
// 1x ./internal/store/, 2 shared cores): a year of 15-minute meter readings
// takes 0.72 bytes per point of chunks (0.82 in bbolt pages in use, 0.99
// on disk; format 1 took 1.26 and 1.50); 10-minute road sensor data with
// 0.01 degC noise 0.59 (0.68, 0.81). BenchmarkSideBySideVM compares with InfluxDB and VictoriaMetrics
// (README, section Store). Flash writes per point are dominated by page
// rewrites, not by the encoding: about 400 bytes per point for the log at
// 60 points/s with 200 ms group commit, and 280 per point for a 15-minute
// seal of 300 stations (271 with format 1: merges rewrite each point about
// once more); Config.CommitInterval and SealInterval are the
// knobs.
package store
