package roaming

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/brocaar/lorawan"
)

// ActionPath is the loraedge-specific endpoint on the peer server that
// takes alert actions. Backend Interfaces has no message for application
// downlinks, so this one is loraedge's own, authenticated and rate-limited
// exactly like the Backend Interfaces messages on the same server.
const ActionPath = "/loraedge/v1/action"

// maxActionBytes bounds an action request; it carries a command name and a
// few arguments.
const maxActionBytes = 4096

// ActionReq asks a device's home to queue a profile command on it, for an
// alert raised at the sender.
type ActionReq struct {
	SenderNSID   string `json:"SenderNSID"`
	ReceiverNSID string `json:"ReceiverNSID"`
	AlertID      string `json:"AlertID"`
	// ActionID names the action across resends (alert, firing, device,
	// command): the home queues it once and answers a resend with its
	// current outcome. Empty (an older sender): queued every time.
	ActionID  string             `json:"ActionID,omitempty"`
	DevEUI    lorawan.EUI64      `json:"DevEUI"`
	Command   string             `json:"Command"`
	Args      map[string]float64 `json:"Args,omitempty"`
	Confirmed bool               `json:"Confirmed,omitempty"`
	// ExpirySeconds is how long the action may still be tried, counted
	// when sent (a span, not an instant: the clocks of two gateways
	// differ); the home drops the downlink unsent after it. 0 (an older
	// sender): no expiry at the home.
	ExpirySeconds int `json:"ExpirySeconds,omitempty"`
}

// Action results, as the home answers them.
const (
	ActionQueued  = "queued"  // the downlink is in the device's queue
	ActionRefused = "refused" // not processed: not the home, unauthenticated, rate limit, bad request
	ActionFailed  = "failed"  // the home could not queue it (unknown command, queue full), or the gateway refused it
	// Outcomes after queueing, answered to a resend of the same ActionID.
	ActionSent            = "sent"             // transmitted; a confirmed one waits for the device's ACK
	ActionAcknowledged    = "acknowledged"     // the device ACKed it
	ActionNotAcknowledged = "not_acknowledged" // no ACK after the last retry
)

// ActionAns is the home's answer: the queue result, the downlink's id when
// queued, and why otherwise.
type ActionAns struct {
	Result      string `json:"Result"`
	DownlinkID  string `json:"DownlinkID,omitempty"`
	Description string `json:"Description,omitempty"`
	// Confirmed: the downlink asks the device for an ACK, so sent is not
	// its last word.
	Confirmed bool `json:"Confirmed,omitempty"`
	// Final: no later outcome will come; the sender stops asking.
	Final bool `json:"Final,omitempty"`
}

// ActionHandler queues a peer's action on a device this instance is home
// of; from is the authenticated sender.
type ActionHandler func(ctx context.Context, from *Peer, req ActionReq) ActionAns

// ErrNotForeign is returned by SendAction for a device no peer is home of.
var ErrNotForeign = errors.New("roaming: device not homed at a peer")

// ForeignDevice returns the peer that is home of devEUI when that is not
// this instance.
func (l *Link) ForeignDevice(devEUI lorawan.EUI64) (*Peer, bool) {
	p, ok := l.opts.Table.HomeOfDevice(devEUI, lorawan.EUI64{})
	if !ok || p.NSID == l.self.NSID {
		return nil, false
	}
	return p, true
}

// SendAction sends an action on a foreign device to its home and returns
// the home's answer; an error means no answer came (the action's outcome
// is then unknown and counts as failed).
func (l *Link) SendAction(ctx context.Context, req ActionReq) (ActionAns, error) {
	to, ok := l.ForeignDevice(req.DevEUI)
	if !ok {
		return ActionAns{}, fmt.Errorf("%w: %s", ErrNotForeign, req.DevEUI)
	}
	return l.sendActionTo(ctx, to, req)
}

// sendActionTo sends req to the peer to, whoever is home of the device.
func (l *Link) sendActionTo(ctx context.Context, to *Peer, req ActionReq) (ActionAns, error) {
	c, ok := l.clients[to.NSID]
	if !ok {
		return ActionAns{}, fmt.Errorf("roaming: %s is not a peer", to.NSID)
	}
	req.SenderNSID, req.ReceiverNSID = l.self.NSID.String(), to.NSID.String()
	body, err := json.Marshal(req)
	if err != nil {
		return ActionAns{}, fmt.Errorf("roaming: encode action: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(to.URL, "/")+ActionPath, bytes.NewReader(body))
	if err != nil {
		return ActionAns{}, fmt.Errorf("roaming: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if l.opts.Config.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+l.opts.Config.Token)
	}
	ans, err := l.exchangeAction(c, hr)
	res := ans.Result
	if err != nil {
		l.m.errors.WithLabelValues(to.Name).Inc()
		res = "error"
	}
	l.m.sent.WithLabelValues(to.Name, "Action", res).Inc()
	if err != nil {
		return ActionAns{}, fmt.Errorf("%w %s (%s): %w", ErrNoAnswer, to.Name, to.URL, err)
	}
	return ans, nil
}

func (l *Link) exchangeAction(c *http.Client, hr *http.Request) (ActionAns, error) {
	resp, err := c.Do(hr)
	if err != nil {
		return ActionAns{}, err
	}
	defer resp.Body.Close()
	var ans ActionAns
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxActionBytes)).Decode(&ans); err != nil {
		return ActionAns{}, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	switch ans.Result {
	case ActionQueued, ActionRefused, ActionFailed, ActionSent, ActionAcknowledged, ActionNotAcknowledged:
		return ans, nil
	}
	return ActionAns{}, fmt.Errorf("HTTP %d: unknown result %q", resp.StatusCode, ans.Result)
}

// serveAction takes one action request: the same sender authentication,
// receiver check and rate limit as a Backend Interfaces message, then the
// ActionHandler.
func (l *Link) serveAction(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, reason, desc string) {
		l.m.refused.WithLabelValues(reason).Inc()
		writeJSON(w, status, ActionAns{Result: ActionRefused, Description: desc})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "malformed", "POST an action")
		return
	}
	var req ActionReq
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Command == "" {
		l.log.Debug("peer action refused", "reason", "malformed", "remote", r.RemoteAddr, "err", err)
		refuse(http.StatusBadRequest, "malformed", "an action needs DevEUI and Command")
		return
	}
	peer, reason := l.authenticateSender(r, req.SenderNSID)
	if peer == nil {
		l.log.Warn("peer action refused", "reason", reason, "remote", r.RemoteAddr, "sender_nsid", req.SenderNSID)
		refuse(http.StatusForbidden, reason, reason)
		return
	}
	if req.ReceiverNSID != "" && !strings.EqualFold(req.ReceiverNSID, l.self.NSID.String()) {
		refuse(http.StatusBadRequest, "unknown_receiver", "this is "+l.self.NSID.String())
		return
	}
	if !l.buckets[peer.NSID].allow(l.now()) {
		refuse(http.StatusTooManyRequests, "rate_limited", "rate limit")
		return
	}
	if l.opts.Action == nil {
		refuse(http.StatusBadRequest, "unsupported", "this instance takes no actions")
		return
	}
	if home, ok := l.opts.Table.HomeOfDevice(req.DevEUI, lorawan.EUI64{}); !ok || home.NSID != l.self.NSID {
		refuse(http.StatusBadRequest, "not_home", "not the home of "+req.DevEUI.String())
		return
	}
	ans := l.opts.Action(r.Context(), peer, req)
	l.m.received.WithLabelValues(peer.Name, "Action", ans.Result).Inc()
	l.peerStats[peer.NSID].received.Add(1)
	writeJSON(w, http.StatusOK, ans)
}
