package all_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/all"
)

func TestRegistry(t *testing.T) {
	r, err := all.NewRegistry()
	require.NoError(t, err)
	ids := r.IDs()
	for _, id := range []string{
		"layout", "elsys-ers-co2", "elsys-ers-voc", "elsys-ems",
		"milesight-am319", "milesight-am307", "milesight-em300-di",
		"decentlab-dl-iam", "decentlab-dl-pm", "decentlab-dl-itst", "decentlab-dl-atm41", "decentlab-dl-sht35",
		"dragino-lht65", "adeunis-pulse4", "cayenne-lpp",
	} {
		assert.Contains(t, ids, id)
	}
	// Registering twice is an error, not a panic.
	require.Error(t, all.Register(r))
	// Every codec without required options builds with none, and decodes
	// garbage without panicking.
	for _, id := range ids {
		d, err := r.New(id, nil)
		if err != nil {
			continue // layout needs fields
		}
		_, _ = d.Decode(codec.Input{FPort: 1, Bytes: []byte{0xff, 0x00, 0x01}})
	}
}
