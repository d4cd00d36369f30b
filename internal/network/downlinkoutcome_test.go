package network

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// outcomes records the reported downlink outcomes.
type outcomes struct {
	mu  sync.Mutex
	got []DownlinkOutcome
}

func (o *outcomes) DownlinkOutcome(x DownlinkOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, x)
}

func (o *outcomes) states(id string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s []string
	for _, x := range o.got {
		if x.ID == id {
			s = append(s, x.State)
		}
	}
	return s
}

// TestDownlinkOutcomes: a confirmed downlink is reported sent and then
// acknowledged by the device's ACK; one never ACKed is reported
// not_acknowledged after its retries; an unconfirmed one sent; one that
// both windows' gateways refuse, failed with the gateway's reason.
func TestDownlinkOutcomes(t *testing.T) {
	d := abpDevice(1)
	rec := &outcomes{}
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.ConfirmedRetries = 1; o.Outcomes = rec })
	acked, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	up := abpFrame(d, 2, []byte{1})
	up.ack = true
	e.deliver(up.bytes(t))
	assert.Equal(t, []string{OutcomeSent, OutcomeAcknowledged}, rec.states(acked))

	lost, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x08}, true)
	require.NoError(t, err)
	plain, err := e.s.EnqueueDownlink(d.DevEUI, 4, []byte{0x09}, false)
	require.NoError(t, err)
	for fcnt := uint32(3); fcnt <= 5; fcnt++ {
		e.deliver(abpFrame(d, fcnt, []byte{1}).bytes(t))
	}
	assert.Equal(t, []string{OutcomeSent, OutcomeSent, OutcomeNotAcknowledged}, rec.states(lost), "one retry, then dropped")
	assert.Equal(t, []string{OutcomeSent}, rec.states(plain))

	e.tx.mu.Lock()
	e.tx.fail = func(Downlink) error { return errors.New("TOO_LATE") }
	e.tx.mu.Unlock()
	refused, err := e.s.EnqueueDownlink(d.DevEUI, 5, []byte{0x0a}, false)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 6, []byte{1}).bytes(t))
	assert.Equal(t, []string{OutcomeSent, OutcomeFailed}, rec.states(refused))
	rec.mu.Lock()
	last := rec.got[len(rec.got)-1]
	rec.mu.Unlock()
	assert.Equal(t, "TOO_LATE", last.Reason)
	assert.Equal(t, d.DevEUI, last.DevEUI)
	assert.Equal(t, e.clock.Now(), last.At)
}
