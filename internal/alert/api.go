package alert

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/inputerr"
)

// List returns the alerts matching f, most urgent first.
func (e *Engine) List(f Filter) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, a := range e.alerts {
		if f.matches(a) {
			out = append(out, a.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level > out[j].Level
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ErrNotFound is returned for an unknown alert or silence id.
var ErrNotFound = errors.New("alert: not found")

// ErrState is returned when an alert cannot be acknowledged in its state.
var ErrState = errors.New("alert: not in a state that allows this")

// Acknowledge marks a firing alert as taken by who at at: repeats and
// escalation stop; a higher level later fires again. MQTT receivers get
// the new state.
func (e *Engine) Acknowledge(id, who string, at time.Time) error {
	if who == "" {
		return errors.New("alert: acknowledge needs a name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.alerts[id]
	if !ok {
		return fmt.Errorf("%w: %s%s", ErrNotFound, id, inputerr.Suggest(id, slices.Sorted(maps.Keys(e.alerts)), "rule/subject"))
	}
	if a.State != StateFiring {
		return fmt.Errorf("%w: %s is %s", ErrState, id, a.State)
	}
	a.State = StateAcknowledged
	a.AckBy, a.AckAt = who, at
	e.dirty[id] = true
	e.log.Info("alert acknowledged", "alert_id", id, "by", who, "at", at)
	if r := e.ruleByName(a.Rule); r != nil {
		for _, rn := range r.recv {
			if rc := e.recv[rn]; rc.Type == "mqtt" {
				if err := e.out.Enqueue(rn, e.groupKey(a), []notify.Note{{Kind: "acknowledged", Alert: a.Clone()}}, at); err != nil {
					e.log.Error("queue notification", "receiver", rn, "err", err)
				}
			}
		}
	}
	e.persistDirty(false)
	return nil
}

// CreateSilence stores s (a new ID is assigned when empty) and returns it.
func (e *Engine) CreateSilence(s Silence) (Silence, error) {
	if len(s.Matchers) == 0 {
		return Silence{}, errors.New("alert: silence needs at least one matcher")
	}
	if !s.EndsAt.After(s.StartsAt) {
		return Silence{}, errors.New("alert: silence must end after it starts")
	}
	for _, m := range s.Matchers {
		if m.Regex {
			if _, err := compileMatcher(m.Value); err != nil {
				return Silence{}, fmt.Errorf("alert: silence matcher %s: %w", m.Label, err)
			}
		}
	}
	if s.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.ID = hex.EncodeToString(b[:])
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.putJSON("s/"+s.ID, s); err != nil {
		return Silence{}, err
	}
	e.silences[s.ID] = s
	return s, nil
}

// Silences lists silences, active or not, by start.
func (e *Engine) Silences() []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Silence, 0, len(e.silences))
	for _, s := range e.silences {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out
}

// ExpireSilence ends a silence at at.
func (e *Engine) ExpireSilence(id string, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.silences[id]
	if !ok {
		return fmt.Errorf("%w: silence %s", ErrNotFound, id)
	}
	if at.Before(s.EndsAt) {
		s.EndsAt = at
		if s.StartsAt.After(at) {
			s.StartsAt = at
		}
	}
	if err := e.putJSON("s/"+s.ID, s); err != nil {
		return err
	}
	e.silences[id] = s
	return nil
}

// Pending returns the number of notifications waiting for delivery.
func (e *Engine) Pending() int { return e.out.Pending() }
