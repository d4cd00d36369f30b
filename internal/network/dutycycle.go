package network

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/network/airtime"
)

// Duty cycle: every downlink's time on air is charged to its gateway's
// EU868 sub-band before it is handed to the gateway, so a flood of
// downlinks cannot push a gateway past the regulatory limit. The budget
// lives in memory; see README (network, duty cycle) for what a restart
// means.

// Refusal reasons (label "reason" of loraedge_network_downlinks_refused_total).
const (
	refusedBudget    = "budget"      // the sub-band's share of the hour is used up
	refusedNoSubBand = "no_sub_band" // the frequency lies in no sub-band with a budget
	refusedAirtime   = "airtime"     // the data rate or length gives no time on air
)

// resultDeferred (label "result" of loraedge_network_downlinks_total) is a
// downlink that fit no window's budget; a queued payload in it waits for
// the next opportunity.
const resultDeferred = "deferred"

// classCDutyRetry is how long a Class C downlink refused by the duty cycle
// waits before it is tried again; each try costs a frame counter and a
// state commit, so it is not retried on every tick.
const classCDutyRetry = time.Minute

// dutyCycle is the downlink budget of every gateway; a nil budget means
// the duty cycle is off (network.duty_cycle: off).
type dutyCycle struct {
	budget  *airtime.Budget
	refused *prometheus.CounterVec
}

func newDutyCycle(o *Options) dutyCycle {
	d := dutyCycle{refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loraedge_network_downlinks_refused_total",
		Help: "Downlink transmissions the duty-cycle budget refused, by EU868 sub-band (g, g1, g2, g3, g4, none) and reason (budget, no_sub_band, airtime).",
	}, []string{"sub_band", "reason"})}
	if o.DutyCycle != dutyCycleOff && o.Band == "EU868" {
		d.budget = airtime.NewBudget(airtime.EU868SubBands)
	}
	return d
}

// downlinkAirtime is the time on air of d: the LoRa formula for LoRa data
// rates (CR 4/5, no CRC, explicit header, 8 preamble symbols), bits over
// bit rate for FSK with its 5 preamble, 3 sync word, 1 length and 2 CRC
// bytes.
func downlinkAirtime(d Downlink) (time.Duration, error) {
	if sf, bw, ok := ParseLoRaDataRate(d.DataRate); ok {
		return airtime.Downlink(sf, bw*1000, len(d.PHYPayload))
	}
	br, err := strconv.Atoi(d.DataRate)
	if err != nil || br <= 0 {
		return 0, fmt.Errorf("downlink air time: data rate %q", d.DataRate)
	}
	bits := int64(8 * (11 + len(d.PHYPayload)))
	return time.Duration(bits * int64(time.Second) / int64(br)), nil
}

// reserve charges d's air time to its gateway's sub-band when it fits and
// counts and logs the refusal when it does not. The charge starts now, not
// at the RX window a second or five later: over an hour's window the
// difference is noise, and charging early never lets more through.
func (s *Server) reserve(d Downlink) bool {
	if s.dc.budget == nil {
		return true
	}
	at, err := downlinkAirtime(d)
	if err != nil {
		s.refuse(d, "none", refusedAirtime, 0, err)
		return false
	}
	sb, ok := s.dc.budget.SubBand(d.Frequency)
	if !ok {
		s.refuse(d, "none", refusedNoSubBand, at, nil)
		return false
	}
	if !s.dc.budget.Reserve(d.GatewayID, d.Frequency, at, s.now()) {
		s.refuse(d, sb.Name, refusedBudget, at, nil)
		return false
	}
	return true
}

func (s *Server) refuse(d Downlink, subBand, reason string, at time.Duration, err error) {
	s.dc.refused.WithLabelValues(subBand, reason).Inc()
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return // a gateway out of budget refuses often: no attributes built for nothing
	}
	args := []any{"gateway_id", d.GatewayID.String(), "frequency", d.Frequency, "data_rate", d.DataRate,
		"sub_band", subBand, "reason", reason, "airtime", at}
	if err != nil {
		args = append(args, "err", err)
	}
	s.log.Debug("downlink refused by duty cycle", args...)
}

// minDataDownlink stands for the PHY payload of the smallest data downlink
// (MHDR, FHDR without FOpts, MIC); only its length is read.
var minDataDownlink [1 + 7 + 4]byte

// mayTransmit tells, before a data downlink is built, whether the smallest
// one could go out in RX1 or RX2 under the gateway's duty cycle. It
// reserves nothing, and counts a refusal per window as transmit would: a
// gateway out of budget then costs an uplink no encryption and no frame
// counter.
func (s *Server) mayTransmit(w windows) bool {
	if s.dc.budget == nil {
		return true
	}
	now := s.now()
	for _, d := range []Downlink{w.rx1, w.rx2} {
		d.PHYPayload = minDataDownlink[:]
		at, err := downlinkAirtime(d)
		if err != nil {
			return true // transmit counts and logs the refusal
		}
		sb, ok := s.dc.budget.SubBand(d.Frequency)
		if !ok {
			return true // likewise
		}
		if s.dc.budget.Allow(d.GatewayID, d.Frequency, at, now) {
			return true
		}
		s.refuse(d, sb.Name, refusedBudget, at, nil)
	}
	return false
}

// admit reserves air time for the plan's RX1 transmission; when RX1's
// sub-band has no budget left, the RX2 transmission (869.525 MHz, g3 with
// 10 %) takes its place without a fallback. It reports false when neither
// fits.
func (s *Server) admit(p txPlan) (txPlan, bool) {
	if s.reserve(p.rx1) {
		return p, true
	}
	if p.rx2 != nil && s.reserve(*p.rx2) {
		p.rx1, p.rx2 = *p.rx2, nil
		return p, true
	}
	return txPlan{}, false
}

// deferItem puts a planned queue item back at the head of its device's
// queue after the duty cycle refused its downlink: an unconfirmed item was
// popped when planned, a confirmed one marked as waiting for its ACK. The
// frame counter it used stays spent, which LoRaWAN allows. A Class C item
// waits classCDutyRetry before the next try; a Class A item goes with the
// next uplink.
func (s *Server) deferItem(it queueItem) {
	eui := it.dev
	s.mu.Lock()
	defer s.mu.Unlock()
	it.notBefore = s.now().Add(classCDutyRetry)
	q := s.queues[eui]
	if len(q) > 0 && q[0].ID == it.ID {
		// Confirmed: undo this attempt; a retry keeps the earlier
		// transmission's claim on the device's ACK.
		if q[0].attempts == 0 {
			q[0].sent = false
		} else {
			q[0].attempts--
		}
		q[0].notBefore = it.notBefore
		s.storeDeferred(q[0])
		return
	}
	s.requeueItem(it)
	s.storeDeferred(it)
}
