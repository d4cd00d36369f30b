package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

func (e *Engine) putJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := e.kv.Put([]byte(key), b); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

func (e *Engine) persistDirty(all bool) {
	for id, urgent := range e.dirty {
		if !urgent && !all {
			continue
		}
		var err error
		if a, ok := e.alerts[id]; ok {
			err = e.putJSON("a/"+id, a)
		} else {
			err = e.kv.Delete([]byte("a/" + id))
		}
		if err != nil {
			e.log.Error("save alert", "alert_id", id, "err", err)
			continue
		}
		delete(e.dirty, id)
	}
}

func (e *Engine) saveEvalState() error {
	var errs []error
	for _, r := range e.rules {
		p, ok := r.eval.(persister)
		if !ok || !p.dirty() {
			continue
		}
		b, err := p.save()
		if err == nil {
			err = e.kv.Put([]byte("e/"+r.cfg.Name), b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("save rule %s state: %w", r.cfg.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) load() error {
	evals := map[string][]byte{}
	err := e.kv.ForEach(func(k, v []byte) error {
		key := string(k)
		switch {
		case strings.HasPrefix(key, "a/"):
			var a Alert
			if err := json.Unmarshal(v, &a); err != nil {
				e.log.Warn("skip unreadable alert state", "key", key, "err", err)
				return nil
			}
			e.alerts[a.ID] = &a
		case strings.HasPrefix(key, "s/"):
			var s Silence
			if err := json.Unmarshal(v, &s); err != nil {
				e.log.Warn("skip unreadable silence", "key", key, "err", err)
				return nil
			}
			e.silences[s.ID] = s
		case strings.HasPrefix(key, "e/"):
			evals[key[2:]] = slices.Clone(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load alert state: %w", err)
	}
	for _, r := range e.rules {
		if p, ok := r.eval.(persister); ok && evals[r.cfg.Name] != nil {
			if err := p.load(evals[r.cfg.Name]); err != nil {
				e.log.Warn("rule state not restored", "rule", r.cfg.Name, "err", err)
			}
		}
	}
	return nil
}
