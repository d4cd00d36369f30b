package store

// The side-by-side benchmarks against InfluxDB (influx_bench_test.go) are
// in package store_test because they use internal/influx, which imports
// this package; they take the data generators and helpers of
// bench_test.go from here instead of having their own.
var (
	T0          = t0
	OpenTest    = openTest
	Meas        = meas
	MeterSeries = meterSeries
	RoadSeries  = roadSeries
	IngestYear  = ingestYear
)

// ChunkBytes sums keys and values of all chunks: the store's encoded data.
func ChunkBytes(s *Store) int64 {
	n, _ := chunkBytes(s)
	return n
}
