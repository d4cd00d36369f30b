package network

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Uplink results (label "result" of loraedge_network_uplinks_total). Every
// frame given to HandleFrame ends in exactly one uplink or join result.
const (
	resultOK             = "ok"
	resultMICInvalid     = "mic_invalid"
	resultReplay         = "replay"
	resultRetransmission = "retransmission"
	resultFCntGap        = "fcnt_gap"
	resultUnknownDevAddr = "unknown_devaddr"
	resultDecodeError    = "decode_error"
	resultDropped        = "dropped"
	resultStoreError     = "store_error"
)

// Join results (label "result" of loraedge_network_joins_total).
const (
	joinOK            = "ok"
	joinMICInvalid    = "mic_invalid"
	joinUnknownDevice = "unknown_device"
	joinDevNonceReuse = "devnonce_replay"
	joinStoreError    = "store_error"
	joinError         = "error"
)

type metrics struct {
	uplinks       *prometheus.CounterVec
	joins         *prometheus.CounterVec
	dedupMerged   prometheus.Counter
	downlinks     *prometheus.CounterVec
	queueDropped  prometheus.Counter
	txAckDropped  prometheus.Counter
	handlerErrors prometheus.Counter
	// durableDropped counts durability reports lost to a full queue.
	durableDropped prometheus.Counter
	commitSeconds  prometheus.Histogram
	macSent        *prometheus.CounterVec
	macAnswered    *prometheus.CounterVec
	macUnanswered  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		uplinks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_uplinks_total",
			Help: "Uplink data frames by result (ok, mic_invalid, replay, retransmission, fcnt_gap, unknown_devaddr, decode_error, dropped, store_error).",
		}, []string{"result"}),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_joins_total",
			Help: "Join-requests by result.",
		}, []string{"result"}),
		dedupMerged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_network_dedup_merged_total",
			Help: "Receptions merged into a frame already heard by another gateway.",
		}),
		downlinks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_downlinks_total",
			Help: "Downlink transmissions by type (join_accept, data) and result (sent, failed, rx2_fallback, deferred: no budget in any window, not_acknowledged: a confirmed downlink without ACK after its last retry, expired: a queued downlink dropped after its expiry; for the ACK of a confirmed uplink: ack_late, durable only after its last window, not_stored, refused or not known to be stored).",
		}, []string{"type", "result"}),
		queueDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_network_downlink_queue_dropped_total",
			Help: "Application downlinks refused because the device queue was full.",
		}),
		txAckDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_network_tx_ack_dropped_total",
			Help: "TX_ACK reports dropped because the ack queue was full.",
		}),
		handlerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_network_handler_errors_total",
			Help: "Verified uplinks the UplinkHandler returned an error for.",
		}),
		durableDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_network_durable_reports_dropped_total",
			Help: "Reports that a confirmed uplink is durable, dropped because their queue was full (its ACK is not sent).",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loraedge_network_state_commit_seconds",
			Help:    "Duration of the bbolt commit per processing batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		macSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_mac_commands_sent_total",
			Help: "Server-initiated MAC commands sent, by command (retries included).",
		}, []string{"cid"}),
		macAnswered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_mac_commands_answered_total",
			Help: "Answers to server-initiated MAC commands by command and result (ack, ok, nack_<refused parts>).",
		}, []string{"cid", "result"}),
		macUnanswered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_network_mac_commands_unanswered_total",
			Help: "MAC commands given up on after every retry went unanswered, by command.",
		}, []string{"cid"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.uplinks, m.joins, m.dedupMerged, m.downlinks, m.queueDropped, m.txAckDropped, m.handlerErrors, m.durableDropped, m.commitSeconds, m.macSent, m.macAnswered, m.macUnanswered} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register network metrics: %w", err)
			}
		}
	}
	return m, nil
}
