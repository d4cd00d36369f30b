package testserver

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// StartInfluxDBWith starts InfluxDB like StartInfluxDB with extra settings
// in its [data] section, one "key = value" a line, e.g. short cold
// durations so that a benchmark sees the TSM files after a snapshot and a
// full compaction instead of the WAL:
//
//	cache-snapshot-write-cold-duration = "1s"
//	compact-full-write-cold-duration = "1s"
//
// The server is started with the standard configuration first (which
// creates the database) and restarted with the extra settings.
func StartInfluxDBWith(t testing.TB, extraData string) *InfluxDB {
	t.Helper()
	db := StartInfluxDB(t)
	if extraData == "" {
		return db
	}
	db.Stop()
	cf := filepath.Join(db.dir, "influxdb.conf")
	conf, err := os.ReadFile(cf)
	if err != nil {
		t.Fatalf("influxdb config: %v", err)
	}
	const section = "[data]\n"
	i := bytes.Index(conf, []byte(section))
	if i < 0 {
		t.Fatalf("influxdb config has no %q", section)
	}
	i += len(section)
	var b bytes.Buffer
	b.Write(conf[:i])
	for _, l := range bytes.Split(bytes.TrimSpace([]byte(extraData)), []byte("\n")) {
		b.WriteString("  ")
		b.Write(bytes.TrimSpace(l))
		b.WriteByte('\n')
	}
	b.Write(conf[i:])
	if err := os.WriteFile(cf, b.Bytes(), 0o600); err != nil {
		t.Fatalf("influxdb config: %v", err)
	}
	db.Start()
	return db
}

// DataDir is the directory of the TSM files (and series files), one
// subdirectory per database.
func (db *InfluxDB) DataDir() string { return filepath.Join(db.dir, "data") }

// WALDir is the directory of the write-ahead log, one subdirectory per
// database.
func (db *InfluxDB) WALDir() string { return filepath.Join(db.dir, "wal") }
