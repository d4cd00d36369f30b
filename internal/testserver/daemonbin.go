package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var daemonBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// DaemonBinary builds cmd/loraedge once per test binary and returns its
// path, for tests that run the daemon as a child process (so that SIGKILL
// kills a process, not a goroutine). Call RemoveDaemonBinary from TestMain.
func DaemonBinary(t testing.TB) string {
	t.Helper()
	b := &daemonBin
	b.once.Do(func() {
		// The go command that runs this test builds the daemon: go test
		// puts its GOROOT/bin first on PATH.
		goBin := "go"
		if b.dir, b.err = os.MkdirTemp("", "loraedge-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "loraedge")
		cmd := exec.Command(goBin, "build", "-o", b.path, "github.com/loraedge/loraedge/cmd/loraedge")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// RemoveDaemonBinary deletes what DaemonBinary built.
func RemoveDaemonBinary() {
	if daemonBin.dir != "" {
		os.RemoveAll(daemonBin.dir)
	}
}
