package roaming

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/brocaar/lorawan/backend"
)

// maxInFlight bounds the PRStartReqs waiting for one home's answer. An
// answer takes the home's dedup window and its store's commit (a few
// hundred milliseconds), so requests overlap; frames of one device are
// seconds apart on air, and those that overtake each other after an
// outage are let in by the home's frame counter window.
const maxInFlight = 32

// Results of loraedge_roaming_frames_forwarded_total beside the TS002
// result codes: retry, no final answer yet (kept and sent again).
const forwardRetry = "retry"

// finalResult classifies a home's answer to a PRStartReq: final (the
// frame is done: stored, or refused for good) or not (no answer, a
// transport error, Other or Deferred: the home could not finish it, so the
// forwarder keeps it and sends it again later).
func finalResult(ans Message, err error) (backend.ResultCode, bool) {
	if err == nil {
		return ResultSuccess, true
	}
	if ans == nil || errors.Is(err, ErrNoAnswer) {
		return "", false
	}
	code := NormalResult(ansResult(ans).ResultCode)
	switch code {
	case ResultOther, ResultDeferred, "":
		return code, false
	}
	return code, true
}

// homeResults are the TS002 answers to a forwarded frame for the network
// layer's final results; any other result is not final at the home.
var homeResults = map[string]backend.Result{
	"ok":              {ResultCode: ResultSuccess},
	"replay":          {ResultCode: ResultFrameReplayed, Description: "the frame counter was used before (replay)"},
	"retransmission":  {ResultCode: ResultFrameReplayed, Description: "the frame counter was used before (retransmission)"},
	"too_old":         {ResultCode: ResultFrameReplayed, Description: "too_old: the frame counter lies below the home's window"},
	"fcnt_gap":        {ResultCode: ResultFrameReplayed, Description: "the frame counter jumped beyond MAX_FCNT_GAP"},
	"mic_invalid":     {ResultCode: ResultMICFailed, Description: "the MIC matches no session"},
	"unknown_devaddr": {ResultCode: ResultUnknownDevAddr, Description: "no session has this DevAddr"},
	"unknown_device":  {ResultCode: ResultUnknownDevEUI, Description: "the device is not provisioned"},
	"devnonce_replay": {ResultCode: ResultFrameReplayed, Description: "the DevNonce was used before"},
	"decode_error":    {ResultCode: ResultMalformedMessage, Description: "not a LoRaWAN 1.0 uplink"},
}

// homeResult is the answer for the network layer's result r: dropped,
// store_error or a join that failed here are not done, so the forwarder
// sends the frame again.
func homeResult(r string) backend.Result {
	if res, ok := homeResults[r]; ok {
		return res
	}
	return backend.Result{ResultCode: ResultOther, Description: "not finished at the home (" + r + "): send again later"}
}

// awaitOutcome waits for the network layer's final result of a forwarded
// frame, at most the link's request timeout.
func (f *Federation) awaitOutcome(ctx context.Context, result <-chan string) backend.Result {
	t := time.NewTimer(f.opts.Link.Config.RequestTimeout)
	defer t.Stop()
	select {
	case r := <-result:
		return homeResult(r)
	case <-t.C:
		return backend.Result{ResultCode: ResultOther, Description: "the outcome is not known in time: send again later"}
	case <-ctx.Done():
		return backend.Result{ResultCode: ResultOther, Description: "the home is stopping: send again later"}
	}
}

// forwardLoop sends one home's frames, up to maxInFlight at once: straight
// away while the durable queue is empty, and through it while the home
// does not answer (and until the queue is drained). A frame leaves the
// forwarder only with a final answer; without one it goes to the queue.
func (f *Federation) forwardLoop(ctx context.Context, h *home) {
	bucket := h.peer.NSID.String()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait() // in-flight requests end with ctx and queue what they hold
	wait := f.opts.RetryInterval
	for {
		if f.q.depth(bucket) > 0 {
			if !f.drain(ctx, h, bucket) {
				if !f.backOff(ctx, h, bucket, wait) {
					return
				}
				wait = min(2*wait, f.opts.MaxRetryInterval)
				continue
			}
			wait = f.opts.RetryInterval
			continue
		}
		select {
		case <-ctx.Done():
			f.flushToQueue(h, bucket)
			return
		case <-h.kick: // a request in flight queued its frame
		case fr := <-h.in:
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				f.enqueue(h, bucket, fr)
				f.flushToQueue(h, bucket)
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				f.sendLive(ctx, h, bucket, fr)
			})
		}
	}
}

// backOff takes new frames into the queue while waiting to retry; false
// when ctx ended.
func (f *Federation) backOff(ctx context.Context, h *home, bucket string, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.flushToQueue(h, bucket)
			return false
		case fr := <-h.in:
			f.enqueue(h, bucket, fr)
		case <-t.C:
			return true
		}
	}
}

// sendLive forwards a fresh frame; without a final answer it is queued.
func (f *Federation) sendLive(ctx context.Context, h *home, bucket string, fr Frame) {
	ans, err := f.link.Send(ctx, h.peer, prStartReq(fr, true))
	code, final := finalResult(ans, err)
	f.countForwarded(h, code, final)
	if !final {
		f.log.Warn("no final answer from the home, frame queued", "peer", h.peer.Name, "err", err)
		f.enqueue(h, bucket, fr)
		select {
		case h.kick <- struct{}{}:
		default:
		}
		return
	}
	if err != nil {
		f.log.Debug("home refused a frame", "peer", h.peer.Name, "err", err)
	}
	f.forwarded(fr, h.peer.Name, forwardOutcome(h.peer.Name, err))
}

func (f *Federation) countForwarded(h *home, code backend.ResultCode, final bool) {
	r := string(code)
	if !final {
		r = forwardRetry
	}
	f.link.m.forwarded.WithLabelValues(h.peer.Name, r).Inc()
}

// drain sends up to maxInFlight of the oldest queued frames at once,
// taking new frames into the queue meanwhile, and removes those with a
// final answer; false when any got none (the home is still unreachable).
func (f *Federation) drain(ctx context.Context, h *home, bucket string) bool {
	items, err := f.q.headN(bucket, maxInFlight)
	if err != nil {
		f.log.Error("roaming queue read failed", "peer", h.peer.Name, "err", err)
		return false
	}
	done := make([]bool, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { done[i] = f.sendQueued(ctx, h, it.msg) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for waiting := true; waiting; {
		select {
		case fr := <-h.in:
			f.enqueue(h, bucket, fr)
		case <-finished:
			waiting = false
		}
	}
	all := true
	for i, it := range items {
		if !done[i] {
			all = false
			continue
		}
		if err := f.q.remove(bucket, it.key); err != nil {
			f.log.Error("roaming queue delete failed", "peer", h.peer.Name, "err", err)
			return false
		}
	}
	depth := f.q.depth(bucket)
	f.link.m.queue.WithLabelValues(h.peer.Name).Set(float64(depth))
	if depth == 0 && all {
		f.log.Info("roaming queue drained", "peer", h.peer.Name)
	}
	return all
}

// sendQueued sends one queued PRStartReq; true when it is done with (a
// final answer, or unreadable).
func (f *Federation) sendQueued(ctx context.Context, h *home, msg []byte) bool {
	req := &PRStartReq{}
	if err := json.Unmarshal(msg, req); err != nil {
		f.log.Error("unreadable queued frame dropped", "peer", h.peer.Name, "err", err)
		return true
	}
	ans, err := f.link.Send(ctx, h.peer, req)
	code, final := finalResult(ans, err)
	f.countForwarded(h, code, final)
	if final && err != nil {
		f.log.Debug("home refused a queued frame", "peer", h.peer.Name, "err", err)
	}
	return final
}
