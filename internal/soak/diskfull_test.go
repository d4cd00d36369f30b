package soak

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mountSmallFS mounts an 8 MiB tmpfs on dir, unmounted by t.Cleanup. Where
// mounting is not permitted the test is skipped, except in CI (CI=true),
// where the suite must run in full.
func mountSmallFS(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := "cannot mount a small tmpfs for the disk-full test (needs root or CAP_SYS_ADMIN): " + strings.TrimSpace(string(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fillDisk writes a ballast file until the filesystem is full.
func fillDisk(t *testing.T, file string) int64 {
	t.Helper()
	f, err := os.Create(file)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			// Smaller writes take the last pages.
			for len(buf) > 512 {
				buf = buf[:len(buf)/2]
				for {
					w, err := f.Write(buf)
					n += int64(w)
					if err != nil {
						break
					}
				}
			}
			return n
		}
		require.NoError(t, err)
	}
}

// The data dir on an 8 MiB filesystem that runs full under load:
//   - the daemon stays up (no exit, no panic in its log) and reports the
//     store read-only (loraedge_store_read_only 1);
//   - every uplink stored before the disk filled is still there, intact;
//   - when space returns the store leaves read-only mode by itself and
//     every uplink sent afterwards is stored;
//   - it shuts down cleanly and the store passes store.Check.
func TestDiskFull(t *testing.T) {
	dur := soakDuration(t)
	buildDaemon(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dataDir, 0o700))
	mountSmallFS(t, dataDir)
	h := newHarness(t, harnessOptions{devices: 20, dataDir: dataDir})
	h.start()
	fw := newForwarder(t, h.udpPort, 1)

	// Before: a known set of uplinks, all stored.
	const before = 100
	var early []sentUplink
	for i := 0; i < before; i++ {
		u := h.fleet.nextUplink(time.Time{})
		early = append(early, u)
		fw.push(u.phy, u.at)
		time.Sleep(2 * time.Millisecond)
	}
	h.waitMetric(mStored, 10*time.Second, func(v float64) bool { return v == before }, "uplinks stored before the disk fills")

	// Full: the ballast takes every free page, the load goes on.
	ballast := filepath.Join(dataDir, "ballast")
	size := fillDisk(t, ballast)
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	const rate = 50.0
	go func() { defer close(loadDone); h.fleet.load(ctx, rate, []*forwarder{fw}, nil) }()
	h.waitMetric(mReadOnly, 15*time.Second, func(v float64) bool { return v == 1 }, "store read-only on a full disk")
	fullFor := max(dur/2, 3*time.Second)
	deadline := time.Now().Add(fullFor)
	for time.Now().Before(deadline) {
		require.NoError(t, h.d.Alive(), "the daemon died on a full disk")
		require.Equal(t, 1.0, h.metric(mReadOnly), "read-only must hold while the disk is full")
		time.Sleep(200 * time.Millisecond)
	}
	stopLoad()
	<-loadDone
	m := h.metrics()
	refused := m[`loraedge_ingest_uplinks_total{result="store_error"}`] + m[`loraedge_network_uplinks_total{result="store_error"}`]

	// Space returns: the store's probe (every 5 s) lifts read-only.
	require.NoError(t, os.Remove(ballast))
	h.waitMetric(mReadOnly, 20*time.Second, func(v float64) bool { return v == 0 }, "store writable again after space returned")
	stored := h.metric(mStored)
	const after = 100
	var late []sentUplink
	for i := 0; i < after; i++ {
		u := h.fleet.nextUplink(time.Time{})
		late = append(late, u)
		fw.push(u.phy, u.at)
		time.Sleep(2 * time.Millisecond)
	}
	h.waitMetric(mStored, 15*time.Second, func(v float64) bool { return v >= stored+after }, "every uplink after recovery stored")
	h.stop()
	log := tail(h.logFile, 1<<20)
	require.NotContains(t, log, "panic", "no panic in the daemon's log")

	st, rep := readStore(t, dataDir)
	h.fleet.checkAgainstSent(t, st, "store")
	for _, set := range [][]sentUplink{early, late} {
		for _, u := range set {
			dev := h.fleet.devs[u.dev].EUI.String()
			require.Len(t, st[dev][u.at.UnixNano()], measurementsPerUplink, "uplink %s f_cnt %d missing from the store", dev, u.fcnt)
		}
	}
	t.Logf("ballast %d KiB on an 8 MiB tmpfs; read-only for %s under %.0f uplinks/s (%.0f refused, counted as store errors); %d uplinks stored in all, store %d segments, torn tail %v",
		size>>10, fullFor, rate, refused, st.uplinks(), rep.Segments, rep.TornTail)
}
