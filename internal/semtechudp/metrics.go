package semtechudp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// malformedReasons are pre-initialised so that dashboards see zeros.
var malformedReasons = []string{"short", "unknown_version", "unknown_type", "wrong_type",
	"unexpected_type", "bad_json", "bad_base64", "size_mismatch", "other"}

var txAckLabels = []string{"none", "too_late", "too_early", "collision_packet", "collision_beacon",
	"tx_freq", "tx_power", "gps_unlocked", "other"}

type metrics struct {
	datagrams      *prometheus.CounterVec
	malformed      *prometheus.CounterVec
	framesReceived prometheus.Counter
	framesDropped  prometheus.Counter
	rxpkIgnored    *prometheus.CounterVec
	txAcks         *prometheus.CounterVec
	txAckUnmatched prometheus.Counter
	txAckExpired   prometheus.Counter
	downlinks      prometheus.Counter
	sendErrors     prometheus.Counter
	gwRejected     prometheus.Counter
	readErrors     prometheus.Counter
	fieldsDropped  *prometheus.CounterVec
	timeRejected   *prometheus.CounterVec
	refused        *prometheus.CounterVec
	pullMoves      prometheus.Counter

	// Children looked up once: WithLabelValues costs a hash per packet.
	byType     [TxAck + 1]prometheus.Counter
	crcBad     prometheus.Counter
	crcMissing prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "loraedge", "semtechudp"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	vec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, []string{label})
	}
	m := &metrics{
		datagrams:      vec("datagrams_received_total", "Well-formed GWMP datagrams received, by packet type.", "type"),
		malformed:      vec("datagrams_malformed_total", "Datagrams rejected, and rxpk objects left out of a PUSH_DATA whose other rxpk were used, by reason.", "reason"),
		framesReceived: counter("frames_received_total", "Uplink frames with a good CRC queued for the network layer."),
		framesDropped:  counter("frames_dropped_total", "Uplink frames dropped because the frame queue was full."),
		rxpkIgnored:    vec("rxpk_ignored_total", "rxpk objects not forwarded because their CRC was bad or absent.", "reason"),
		txAcks:         vec("tx_acks_total", "TX_ACKs matched to a PULL_RESP, by error code.", "error"),
		txAckUnmatched: counter("tx_acks_unmatched_total", "TX_ACKs whose token matched no pending PULL_RESP."),
		txAckExpired:   counter("tx_acks_missing_total", "PULL_RESPs to v2 gateways never confirmed by a TX_ACK."),
		downlinks:      counter("downlinks_sent_total", "PULL_RESP datagrams sent."),
		sendErrors:     counter("send_errors_total", "PULL_RESP datagrams that could not be sent."),
		gwRejected:     counter("gateways_rejected_total", "Datagrams from new gateways ignored because MaxGateways was reached."),
		readErrors:     counter("read_errors_total", "Errors reading from the UDP socket."),
		fieldsDropped:  vec("rxpk_fields_dropped_total", "Malformed optional rxpk fields (and stat objects) dropped while the frame was used, by field.", "field"),
		refused: vec("datagrams_refused_total", "Datagrams refused to protect the gateways: unlisted_gateway and source_not_allowed "+
			"(gateways list), pull_address_pinned (PULL_DATA from another IP under the move rule), tx_ack_address, by reason.", "reason"),
		pullMoves:    counter("gateway_moves_total", "Gateways whose downlink address moved to another IP under the move rule."),
		timeRejected: vec("gateway_time_rejected_total", "rxpk GPS times not used because they disagreed with tmst or the host clock; the reception time was used, by reason.", "reason"),
	}
	for _, f := range droppableFields() {
		m.fieldsDropped.WithLabelValues(f)
	}
	for _, r := range refusedReasons {
		m.refused.WithLabelValues(r)
	}
	for _, r := range gpsTimeReasons {
		m.timeRejected.WithLabelValues(r)
	}
	for t := PushData; t <= TxAck; t++ {
		m.byType[t] = m.datagrams.WithLabelValues(typeLabel(t))
	}
	for _, r := range malformedReasons {
		m.malformed.WithLabelValues(r)
	}
	for _, l := range txAckLabels {
		m.txAcks.WithLabelValues(l)
	}
	m.crcBad = m.rxpkIgnored.WithLabelValues("crc_bad")
	m.crcMissing = m.rxpkIgnored.WithLabelValues("crc_missing")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.datagrams, m.malformed, m.framesReceived, m.framesDropped,
			m.rxpkIgnored, m.txAcks, m.txAckUnmatched, m.txAckExpired, m.downlinks, m.sendErrors, m.gwRejected, m.readErrors,
			m.fieldsDropped, m.timeRejected, m.refused, m.pullMoves} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func typeLabel(t PacketType) string { return strings.ToLower(t.String()) }

// txAckLabel keeps the label set bounded whatever a gateway sends.
func txAckLabel(err error) string {
	if err == nil {
		return "none"
	}
	if e := TxAckError(""); errors.As(err, &e) {
		l := strings.ToLower(string(e))
		for _, k := range txAckLabels {
			if k == l {
				return l
			}
		}
	}
	return "other"
}
