package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// persisted is what a real device keeps in non-volatile memory and the
// simulator keeps in Options.StateFile between runs: the LoRaWAN 1.0.4
// DevNonce counter (a network server refuses a DevNonce that is not
// greater than the last one) and the ABP uplink counter.
type persisted struct {
	Devices map[string]persistedDevice `json:"devices"`
}

type persistedDevice struct {
	NextDevNonce *uint16 `json:"next_dev_nonce,omitempty"`
	FCntUp       *uint32 `json:"f_cnt_up,omitempty"`
}

func loadState(path string) (persisted, error) {
	st := persisted{Devices: map[string]persistedDevice{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read sim state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse sim state %s: %w", path, err)
	}
	if st.Devices == nil {
		st.Devices = map[string]persistedDevice{}
	}
	return st, nil
}

// saveState writes the file atomically (temp file + rename) so a crash
// leaves either the old or the new state.
func saveState(path string, st persisted) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sim state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sim-state-*")
	if err != nil {
		return fmt.Errorf("write sim state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write sim state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync sim state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close sim state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename sim state: %w", err)
	}
	return nil
}
