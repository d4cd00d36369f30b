package mqtt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
)

// CommandRequest is the payload on .../device/<dev_eui>/command/down:
// either a named command of the device's firmware profile
//
//	{"id": "c1", "command": "close", "args": {}}
//
// or a raw payload
//
//	{"id": "c2", "f_port": 20, "hex": "00", "confirmed": false}
//
// Confirmed overrides the profile's choice when given. The id is echoed in
// the reply; a repeated id (a QoS 1 redelivery) is answered again without
// queueing the downlink twice.
type CommandRequest struct {
	ID        string             `json:"id"`
	Command   string             `json:"command,omitempty"`
	Args      map[string]float64 `json:"args,omitempty"`
	FPort     *int               `json:"f_port,omitempty"`
	Hex       *string            `json:"hex,omitempty"`
	Confirmed *bool              `json:"confirmed,omitempty"`
	// Expiry (a duration, "30m") or ExpiresAt (RFC 3339): the downlink is
	// dropped unsent once it has passed.
	Expiry    string `json:"expiry,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// CommandReply is published on .../command/ack (Result "ack") or
// .../command/nack (Result "nack" with Reason).
type CommandReply struct {
	ID        string `json:"id,omitempty"`
	DevEUI    string `json:"dev_eui"`
	Result    string `json:"result"`
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
	QueueID   string `json:"queue_id,omitempty"`
	Command   string `json:"command,omitempty"`
	FPort     uint8  `json:"f_port,omitempty"`
	Hex       string `json:"hex,omitempty"`
	Confirmed bool   `json:"confirmed"`
	ExpiresAt string `json:"expires_at,omitempty"`
	// Duplicate marks the answer to a redelivered id: nothing was queued again.
	Duplicate bool   `json:"duplicate,omitempty"`
	Time      string `json:"time"`
}

// Nack reasons.
const (
	ReasonBadRequest      = "bad_request"        // not JSON, neither or both of command and f_port/hex, oversized
	ReasonBadTopic        = "bad_topic"          // dev_eui in the topic is not an EUI-64
	ReasonUnknownDevice   = "unknown_device"     // not in the registry
	ReasonExternalDevice  = "external_device"    // session lives in another network server
	ReasonNoProfile       = "no_profile"         // the device has no firmware profile for named commands
	ReasonUnknownCommand  = "unknown_command"    // the profile has no such command
	ReasonBadArgument     = "bad_argument"       // missing, unknown or out-of-range argument
	ReasonBadFPort        = "bad_f_port"         // missing, 0 or above 223
	ReasonBadHex          = "bad_hex"            // not hex
	ReasonPayloadTooLong  = "payload_too_long"   // above the largest EU868 application payload
	ReasonQueueFull       = "queue_full"         // the device's downlink queue is full
	ReasonDownlinksOff    = "downlinks_disabled" // no downlink queue wired
	ReasonEnqueueFailed   = "enqueue_failed"     // any other network error
	ReasonBadExpiry       = "bad_expiry"         // expiry or expires_at not understood, out of range or passed
	maxCommandBytes       = 4096
	maxDownlinkPayloadLen = 242
)

// recentCommands remembers replies by device and id so redeliveries are
// not queued twice; bounded, oldest forgotten first.
type recentCommands struct {
	mu    sync.Mutex
	max   int
	order []string
	byKey map[string]CommandReply
}

func (r *recentCommands) get(key string) (CommandReply, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep, ok := r.byKey[key]
	return rep, ok
}

func (r *recentCommands) put(key string, rep CommandReply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byKey[key]; !ok {
		r.order = append(r.order, key)
	}
	r.byKey[key] = rep
	for len(r.order) > r.max {
		delete(r.byKey, r.order[0])
		r.order = r.order[1:]
	}
}

// handleCommand runs on paho's router goroutine: it validates, queues and
// publishes the reply without waiting for its PUBACK.
func (s *Sink) handleCommand(c paho.Client, msg paho.Message) {
	devStr, ok := s.commandDevice(msg.Topic())
	if !ok {
		return // not a command topic (default handler)
	}
	rep := s.command(devStr, msg.Payload())
	kind := "ack"
	if rep.Result != "ack" {
		kind = "nack"
	}
	result := rep.Result
	switch {
	case rep.Reason != "":
		result = rep.Reason
	case rep.Duplicate:
		result = "duplicate"
	}
	s.m.commands.WithLabelValues(result).Inc()
	if rep.Result == "ack" {
		s.log.Info("downlink command queued", "dev_eui", rep.DevEUI, "id", rep.ID, "queue_id", rep.QueueID, "f_port", rep.FPort)
	} else {
		s.log.Warn("downlink command refused", "dev_eui", rep.DevEUI, "id", rep.ID, "reason", rep.Reason, "err", rep.Error)
	}
	b, _ := json.Marshal(rep)
	if validLevel(devStr) != nil {
		devStr = "invalid"
	}
	c.Publish(s.DeviceTopic(devStr, "command/"+kind), 1, false, b)
	s.m.published.WithLabelValues("command_reply").Inc()
}

// commandDevice extracts <dev_eui> from <prefix>/<gateway>/device/<dev_eui>/command/down.
func (s *Sink) commandDevice(topic string) (string, bool) {
	pre := s.Topic("device") + "/"
	const suf = "/command/down"
	if !strings.HasPrefix(topic, pre) || !strings.HasSuffix(topic, suf) || len(topic) < len(pre)+len(suf) {
		return "", false
	}
	return topic[len(pre) : len(topic)-len(suf)], true
}

// command turns one request into a queued downlink and its reply.
func (s *Sink) command(devStr string, payload []byte) CommandReply {
	rep := CommandReply{DevEUI: devStr, Result: "nack", Time: s.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	nack := func(reason string, err error) CommandReply {
		rep.Reason = reason
		if err != nil {
			rep.Error = err.Error()
		}
		return rep
	}
	if len(payload) > maxCommandBytes {
		return nack(ReasonBadRequest, fmt.Errorf("message: %d bytes at most, got %d", maxCommandBytes, len(payload)))
	}
	var req CommandRequest
	err := json.Unmarshal(payload, &req)
	// A value of the wrong kind leaves the others decoded: the nack
	// carries the id, so the sender can match it.
	rep.ID, rep.Command = req.ID, req.Command
	if err != nil {
		return nack(ReasonBadRequest, inputerr.FromJSON(err))
	}
	var eui lorawan.EUI64
	if fe := inputerr.Hex("dev_eui", devStr, len(eui)); fe != nil {
		return nack(ReasonBadTopic, fmt.Errorf("topic %w", fe))
	}
	if err := eui.UnmarshalText([]byte(devStr)); err != nil {
		return nack(ReasonBadTopic, errors.New("topic dev_eui: expected 16 hex digits"))
	}
	rep.DevEUI = eui.String()
	key := rep.DevEUI + "/" + req.ID
	if req.ID != "" {
		if prev, ok := s.recent.get(key); ok && prev.Result == "ack" {
			prev.Duplicate = true
			return prev
		}
	}
	named, raw := req.Command != "", req.FPort != nil || req.Hex != nil
	if named == raw {
		return nack(ReasonBadRequest, errors.New("give either command (with args) or f_port and hex"))
	}
	if s.opts.Devices == nil || s.opts.Downlinks == nil {
		return nack(ReasonDownlinksOff, nil)
	}
	dev, ok := s.opts.Devices.Get(eui)
	if !ok {
		return nack(ReasonUnknownDevice, nil)
	}
	if dev.Activation == device.External {
		return nack(ReasonExternalDevice, errors.New("send downlinks through the device's network server"))
	}
	var dl profile.Downlink
	if named {
		if dev.Profile == "" || s.opts.Profiles == nil {
			return nack(ReasonNoProfile, nil)
		}
		var err error
		dl, err = s.opts.Profiles.Downlink(dev.Profile, req.Command, req.Args)
		switch {
		case errors.Is(err, profile.ErrUnknownCommand):
			return nack(ReasonUnknownCommand, err)
		case errors.Is(err, profile.ErrUnknownProfile):
			return nack(ReasonNoProfile, err)
		case err != nil:
			return nack(ReasonBadArgument, err)
		}
	} else {
		if req.FPort == nil || *req.FPort < 1 || *req.FPort > 223 {
			return nack(ReasonBadFPort, errors.New("f_port: 1..223"))
		}
		h := ""
		if req.Hex != nil {
			h = *req.Hex
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return nack(ReasonBadHex, errors.New("hex: expected pairs of hex digits (0-9, a-f), got "+inputerr.Quote(h)))
		}
		dl = profile.Downlink{FPort: uint8(*req.FPort), Payload: b}
	}
	if len(dl.Payload) > maxDownlinkPayloadLen {
		return nack(ReasonPayloadTooLong, fmt.Errorf("payload: %d bytes at most, got %d", maxDownlinkPayloadLen, len(dl.Payload)))
	}
	if req.Confirmed != nil {
		dl.Confirmed = *req.Confirmed
	}
	rep.FPort, rep.Hex, rep.Confirmed = dl.FPort, hex.EncodeToString(dl.Payload), dl.Confirmed
	now := s.now()
	expiry, err := network.ParseExpiry(req.Expiry, req.ExpiresAt, now)
	if err != nil {
		return nack(ReasonBadExpiry, err)
	}
	if expiry > 0 {
		rep.ExpiresAt = now.Add(expiry).UTC().Format(time.RFC3339)
	}
	id, err := s.opts.Downlinks.EnqueueDownlinkExpiring(eui, dl.FPort, dl.Payload, dl.Confirmed, expiry)
	switch {
	case errors.Is(err, network.ErrExpired):
		return nack(ReasonBadExpiry, errors.New("expires_at: already passed"))
	case errors.Is(err, network.ErrQueueFull):
		return nack(ReasonQueueFull, errors.New("the device's downlink queue is full"))
	case errors.Is(err, network.ErrPayloadSize):
		pe := &network.PayloadSizeError{Size: len(dl.Payload)}
		if !errors.As(err, &pe) {
			return nack(ReasonPayloadTooLong, errors.New("payload: too large for this device"))
		}
		return nack(ReasonPayloadTooLong, pe)
	case errors.Is(err, network.ErrUnknownDevice):
		return nack(ReasonUnknownDevice, errors.New("dev_eui: the network layer does not know this device yet"))
	case err != nil:
		return nack(ReasonEnqueueFailed, err)
	}
	rep.Result, rep.QueueID = "ack", id
	if req.ID != "" {
		s.recent.put(key, rep)
	}
	return rep
}
