package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/uplink"
)

// FrameLog is the frame log as the API reads it; *framelog.Log has it.
type FrameLog interface {
	Frames(framelog.Query) []uplink.FrameEvent
	Subscribe(framelog.Query) (<-chan uplink.FrameEvent, func())
}

var _ FrameLog = (*framelog.Log)(nil)

// framesKeepAlive is how often an idle stream sends a comment, so proxies
// and clients see the connection alive.
const framesKeepAlive = 15 * time.Second

// frameQuery reads ?device=&gateway=&limit=; EUIs are checked, so a typo is
// an error rather than an empty list.
func frameQuery(r *http.Request) (framelog.Query, error) {
	q := framelog.Query{}
	v := r.URL.Query()
	for _, f := range []struct {
		key string
		dst *string
	}{{"device", &q.Device}, {"gateway", &q.Gateway}} {
		s := v.Get(f.key)
		if s == "" {
			continue
		}
		var eui lorawan.EUI64
		if err := eui.UnmarshalText([]byte(s)); err != nil {
			return q, badRequest(fmt.Sprintf("%s: expected 16 hex digits, got %q", f.key, s), err)
		}
		*f.dst = eui.String()
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, badRequest(fmt.Sprintf("limit: expected a whole number above 0, got %q", s), err)
		}
		q.Limit = n
	}
	return q, nil
}

// listFrames answers GET /api/v1/frames: the kept frames, newest first.
func (s *Server) listFrames(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Frames == nil {
		return errNotConfigured
	}
	q, err := frameQuery(r)
	if err != nil {
		return err
	}
	frames := s.opts.Frames.Frames(q)
	if frames == nil {
		frames = []uplink.FrameEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"frames": frames})
	return nil
}

// streamFrames answers GET /api/v1/frames/stream with server-sent events:
// one "frame" event per new or updated frame (an update repeats its seq).
func (s *Server) streamFrames(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Frames == nil {
		return errNotConfigured
	}
	q, err := frameQuery(r)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers; a stream lasts.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("frame stream: %w", err)
	}
	frames, cancel := s.opts.Frames.Subscribe(q)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": frames\n\n"); err != nil {
		return nil //nolint:nilerr // the client went away
	}
	_ = rc.Flush()
	keep := time.NewTicker(framesKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil //nolint:nilerr // the client went away
			}
		case f := <-frames:
			b, err := json.Marshal(f)
			if err != nil {
				return fmt.Errorf("frame stream: %w", err)
			}
			if _, err := fmt.Fprintf(w, "event: frame\nid: %d\ndata: %s\n\n", f.Seq, b); err != nil {
				return nil //nolint:nilerr // the client went away
			}
		}
		if err := rc.Flush(); err != nil {
			return nil //nolint:nilerr // the client went away
		}
	}
}

// Unwrap lets http.ResponseController reach the connection (the frame
// stream lifts the write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
