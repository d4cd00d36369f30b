package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
)

// Options configure a simulation run. Durations marked real are wall-clock
// time; the scenario itself runs on the virtual clock.
type Options struct {
	Target string // daemon GWMP address, e.g. "127.0.0.1:1700"
	// Targets, if set, gives each gateway its own daemon, in gateway order
	// (a county scenario: each instance's gateway talks to its loraedge);
	// Target is then unused.
	Targets []string
	// Config gives the scenario, speed and gateways; its zero fields take
	// DefaultConfig's. Enabled is the caller's business.
	Config Config
	Logger *slog.Logger
	Start  time.Time // virtual start; default per scenario
	// Clock, if set, is the virtual clock the run plays on, so the caller
	// can judge time on the same clock from the start (the daemon's alert
	// engine). Nil: Run starts a clock at Start.
	Clock *Clock

	Duration          time.Duration // virtual length; default per scenario
	KeepaliveInterval time.Duration // real; PULL_DATA period, default 10 s
	StatInterval      time.Duration // real; stat PUSH_DATA period, default 30 s
	JoinTimeout       time.Duration // real; join-request retry, default 10 s
	RXWindow          time.Duration // real; how long a class A device listens after an uplink, default 10 s
	Linger            time.Duration // real; wait for late downlinks after the last uplink, default 2 s
	Seed              uint64        // radio jitter and tokens; 0 is a fixed default
	// StateFile, if set, keeps the LoRaWAN 1.0.4 DevNonce counters and the
	// ABP frame counters across runs, as a device's flash would. Without
	// it the 1.0.4 counter starts from wall-clock minutes.
	StateFile string
	// Link is the radio link model; nil takes DefaultLinkModel, in which
	// every scenario's devices stay in reach at every data rate.
	Link *LinkModel

	// field replaces the named scenario with NewField's devices.
	field *Scenario
}

func (o *Options) defaults() error {
	if o.Target == "" && len(o.Targets) == 0 {
		return errors.New("sim: target address required")
	}
	c, dc := &o.Config, DefaultConfig()
	if c.Scenario == "" {
		c.Scenario = dc.Scenario
	}
	if o.Link == nil {
		m := DefaultLinkModel()
		o.Link = &m
	}
	if err := o.Link.Validate(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if _, ok := scenarios[c.Scenario]; !ok && o.field == nil {
		return fmt.Errorf("sim: unknown scenario %q (have %v)", c.Scenario, Scenarios())
	}
	if c.Speed <= 0 {
		c.Speed = dc.Speed
	}
	if c.Gateways <= 0 {
		c.Gateways = dc.Gateways
	}
	if n := len(o.scenario().Instances); n > 0 && o.field == nil {
		c.Gateways = n // one gateway per instance
	}
	if len(o.Targets) > 0 && len(o.Targets) != c.Gateways {
		return fmt.Errorf("sim: %d targets for %d gateways", len(o.Targets), c.Gateways)
	}
	if c.Gateways > maxGateways {
		return fmt.Errorf("sim: %d gateways: at most %d (one socket each)", c.Gateways, maxGateways)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "sim")
	sc := o.scenario()
	if o.Start.IsZero() {
		o.Start = sc.Start
	}
	if o.Duration <= 0 {
		o.Duration = sc.Duration
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.KeepaliveInterval, 10*time.Second)
	def(&o.StatInterval, 30*time.Second)
	def(&o.JoinTimeout, 10*time.Second)
	def(&o.RXWindow, 10*time.Second)
	def(&o.Linger, 2*time.Second)
	if o.Seed == 0 {
		o.Seed = 0x10aed9e
	}
	return nil
}

func (o *Options) scenario() Scenario {
	if o.field != nil {
		return *o.field
	}
	return scenarios[o.Config.Scenario]
}

// maxGateways bounds the sockets one run opens.
const maxGateways = 256

// counters are the simulator-wide statistics.
type counters struct {
	framesSent, joins, downlinks, acks, appDownlinks, downlinksUnmatched atomic.Uint64
	transmissions, transmissionsLost                                     atomic.Uint64
	pushData, pushAcks, pullData, pullAcks, pullResps, txAcks, malformed atomic.Uint64
	writeErrors                                                          atomic.Uint64
	joinAccepts                                                          atomic.Uint64
}

// Stats is a snapshot of a run's counters.
type Stats struct {
	FramesSent         uint64 // uplinks on air (join-requests and data), counted once however many gateways heard them
	Transmissions      uint64 // radio transmissions: NbTrans per data frame
	TransmissionsLost  uint64 // transmissions below every gateway's demodulation floor
	JoinRequests       uint64
	DataUplinks        uint64
	JoinsDone          uint64
	JoinAccepts        uint64 // join-accepts the gateways transmitted, taken by a device or not
	DownlinksReceived  uint64 // data downlinks accepted by a device (MIC and counter OK)
	AcksReceived       uint64 // confirmed uplinks acknowledged
	AcksMissed         uint64 // confirmed uplinks never acknowledged before the next one
	AppDownlinks       uint64 // downlinks with an application payload
	DownlinksUnmatched uint64 // PULL_RESP payloads no device took
	PushData           uint64
	PushAcks           uint64
	PullData           uint64
	PullAcks           uint64
	PullResps          uint64
	TxAcks             uint64
	Malformed          uint64
	WriteErrors        uint64
}

// Simulator runs one scenario. Stats and device states can be read while
// it runs and after.
type Simulator struct {
	opts     Options
	scenario Scenario
	targets  []*net.UDPAddr // per gateway
	stats    counters
	nodes    []*node
	byEUI    map[lorawan.EUI64]*node
	means    [][]float64 // link model: [node][gateway] mean SNR at full power

	mu    sync.Mutex
	clock *Clock
	ran   bool

	stateMu sync.Mutex // serialises state file writes
}

// New checks the options and builds the scenario's devices.
func New(opts Options) (*Simulator, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	targets, err := resolveTargets(opts)
	if err != nil {
		return nil, err
	}
	sc := opts.scenario()
	s := &Simulator{opts: opts, scenario: sc, targets: targets, byEUI: map[lorawan.EUI64]*node{}, clock: opts.Clock}
	var saved persisted
	if opts.StateFile != "" {
		if saved, err = loadState(opts.StateFile); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	now := time.Now()
	for _, sd := range sc.build(opts.Start) {
		n := newNode(sd, now)
		if p, ok := saved.Devices[sd.dev.DevEUI.String()]; ok {
			if p.NextDevNonce != nil {
				n.devNonce = *p.NextDevNonce
			}
			if p.FCntUp != nil && n.joined {
				n.fCntUp = *p.FCntUp
			}
		}
		s.nodes = append(s.nodes, n)
		s.byEUI[sd.dev.DevEUI] = n
	}
	s.means = linkMeans(s.nodes, opts.Config.Gateways, *opts.Link, opts.Seed)
	for i, n := range s.nodes {
		n.meanSNR = s.means[i][0]
	}
	return s, nil
}

// resolveTargets returns each gateway's daemon address.
func resolveTargets(o Options) ([]*net.UDPAddr, error) {
	out := make([]*net.UDPAddr, o.Config.Gateways)
	for i := range out {
		t := o.Target
		if len(o.Targets) > 0 {
			t = o.Targets[i]
		}
		addr, err := net.ResolveUDPAddr("udp", t)
		if err != nil {
			return nil, fmt.Errorf("sim: resolve target %q: %w", t, err)
		}
		out[i] = addr
	}
	return out, nil
}

// targetList is the daemons' addresses for the log, once each.
func (s *Simulator) targetList() string {
	var out []string
	seen := map[string]bool{}
	for _, t := range s.targets {
		if a := t.String(); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return strings.Join(out, ",")
}

// saveState writes the counters a real device would keep in flash.
func (s *Simulator) saveState() {
	if s.opts.StateFile == "" {
		return
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	st := persisted{Devices: map[string]persistedDevice{}}
	for _, n := range s.nodes {
		n.mu.Lock()
		var p persistedDevice
		if n.sd.dev.Activation == device.OTAA && n.sd.dev.MACVersion == "1.0.4" {
			v := n.devNonce
			p.NextDevNonce = &v
		}
		if n.sd.dev.Activation == device.ABP {
			// ABP: the session is the device's for life.
			v := n.fCntUp
			p.FCntUp = &v
		}
		n.mu.Unlock()
		if p.NextDevNonce != nil || p.FCntUp != nil {
			st.Devices[n.sd.dev.DevEUI.String()] = p
		}
	}
	if err := saveState(s.opts.StateFile, st); err != nil {
		s.opts.Logger.Warn("save simulator state", "err", err)
	}
}

// Run runs the given scenario against opts.Target until it ends or ctx is
// done.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Clock returns the virtual clock of the run: Options.Clock, else nil
// before Run.
func (s *Simulator) Clock() *Clock {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// Run plays the scenario: gateways connect and keep alive, devices join and
// send on the virtual clock until the scenario's end. It returns nil at the
// end of the scenario or when ctx is cancelled, and an error if the
// gateways cannot open their sockets.
func (s *Simulator) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("sim: Run called twice")
	}
	s.ran = true
	clock := s.opts.Clock
	if clock == nil {
		clock = NewClock(s.opts.Start, s.opts.Config.Speed)
	}
	s.clock = clock
	s.mu.Unlock()

	log := s.opts.Logger
	a := newAir(s.nodes, *s.opts.Link, s.means, s.opts.RXWindow, s.opts.JoinTimeout+s.opts.RXWindow, &s.stats, log, s.opts.Seed)
	for i := range s.opts.Config.Gateways {
		g, err := newGateway(i, s.targets[i], &s.opts, clock, a, &s.stats, s.opts.Seed)
		if err != nil {
			for _, g := range a.gateways {
				g.conn.Close()
			}
			return fmt.Errorf("sim: %w", err)
		}
		s.scenario.placeGateway(g)
		a.gateways = append(a.gateways, g)
	}
	end := s.opts.Start.Add(s.opts.Duration)
	log.Info("simulation started", "scenario", s.scenario.Name, "devices", len(s.nodes), "gateways", len(a.gateways),
		"targets", s.targetList(), "speed", s.opts.Config.Speed, "virtual_start", s.opts.Start, "virtual_end", end)

	gwCtx, stopGateways := context.WithCancel(ctx)
	defer stopGateways()
	var gwWG sync.WaitGroup
	gwErrs := make([]error, len(a.gateways))
	for i, g := range a.gateways {
		gwWG.Add(1)
		go func() {
			defer gwWG.Done()
			gwErrs[i] = g.run(gwCtx)
		}()
	}

	// Let the first PULL_DATA reach the daemon before devices start, so
	// the first join-accept has a downlink path.
	if err := sleepReal(ctx, 50*time.Millisecond); err == nil {
		var devWG sync.WaitGroup
		for i, n := range s.nodes {
			devWG.Add(1)
			go func() {
				defer devWG.Done()
				s.runDevice(ctx, clock, a, i, n, end)
			}()
		}
		devWG.Wait()
		_ = sleepReal(ctx, s.opts.Linger)
	}
	stopGateways()
	gwWG.Wait()
	s.saveState()
	st := s.Stats()
	log.Info("simulation finished", "frames_sent", st.FramesSent, "joins", st.JoinsDone,
		"downlinks", st.DownlinksReceived, "acks", st.AcksReceived, "push_acks", st.PushAcks)
	return errors.Join(gwErrs...)
}

// runDevice is the life of one device: join (OTAA) with retries, then one
// uplink per interval on the virtual clock.
func (s *Simulator) runDevice(ctx context.Context, clock *Clock, a *air, idx int, n *node, end time.Time) {
	sd := n.sd
	log := s.opts.Logger.With("dev_eui", sd.dev.DevEUI.String())
	// Spread the devices over their interval so they do not all talk at
	// once; the factor is a fixed permutation of the device index.
	offset := time.Duration(int64(sd.interval) * int64((idx*37)%100) / 100)
	next := s.opts.Start.Add(offset)
	joinWait := s.opts.JoinTimeout
	lastDR := -1
	for ctx.Err() == nil {
		if !clock.Now().Before(end) {
			return
		}
		if !n.isJoined() {
			// Stagger join-requests a little in real time too.
			if err := sleepReal(ctx, time.Duration(idx)*20*time.Millisecond); err != nil {
				return
			}
			b, err := n.joinRequest(time.Now())
			if err != nil {
				log.Error("build join-request", "err", err)
				return
			}
			s.saveState() // the DevNonce is used: never again, even after a crash
			a.transmit(idx, b, n.joinSetting(), clock.Now())
			log.Debug("join-request sent")
			t := time.NewTimer(joinWait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-n.joinedSig:
				t.Stop()
			case <-t.C:
				log.Warn("no join-accept, retrying", "timeout", joinWait)
			}
			continue
		}
		now := clock.Now()
		for next.Before(now) {
			next = next.Add(sd.interval)
		}
		if !next.Before(end) {
			return
		}
		if clock.SleepUntil(ctx, next) != nil {
			return
		}
		fport, payload, err := sd.sensor.reading(next)
		if br, ok := sd.sensor.(batteryReporter); ok {
			n.setBattery(br.batteryLevel())
		}
		if err != nil {
			log.Error("encode payload", "err", err)
			next = next.Add(sd.interval)
			continue
		}
		b, err := n.dataUplink(fport, payload, sd.confirmed, time.Now())
		if err != nil {
			log.Error("build uplink", "err", err)
			next = next.Add(sd.interval)
			continue
		}
		tx := n.txSetting()
		if tx.dr != lastDR && lastDR >= 0 {
			log.Info("device data rate changed", "from", drName(lastDR), "to", drName(tx.dr), "tx_power", tx.txPower, "nb_trans", tx.nbTrans)
		}
		lastDR = tx.dr
		a.transmit(idx, b, tx, next)
		log.Debug("uplink sent", "f_port", fport, "f_cnt", n.state().FCntUp-1, "virtual_time", next, "data_rate", drName(tx.dr))
		next = next.Add(sd.interval)
	}
}

// Stats returns a snapshot of the counters.
func (s *Simulator) Stats() Stats {
	st := Stats{
		FramesSent:         s.stats.framesSent.Load(),
		Transmissions:      s.stats.transmissions.Load(),
		TransmissionsLost:  s.stats.transmissionsLost.Load(),
		JoinsDone:          s.stats.joins.Load(),
		JoinAccepts:        s.stats.joinAccepts.Load(),
		DownlinksReceived:  s.stats.downlinks.Load(),
		AcksReceived:       s.stats.acks.Load(),
		AppDownlinks:       s.stats.appDownlinks.Load(),
		DownlinksUnmatched: s.stats.downlinksUnmatched.Load(),
		PushData:           s.stats.pushData.Load(),
		PushAcks:           s.stats.pushAcks.Load(),
		PullData:           s.stats.pullData.Load(),
		PullAcks:           s.stats.pullAcks.Load(),
		PullResps:          s.stats.pullResps.Load(),
		TxAcks:             s.stats.txAcks.Load(),
		Malformed:          s.stats.malformed.Load(),
		WriteErrors:        s.stats.writeErrors.Load(),
	}
	for _, n := range s.nodes {
		ds := n.state()
		st.JoinRequests += ds.JoinRequests
		st.DataUplinks += ds.Uplinks
		st.AcksMissed += ds.AcksMissed
	}
	return st
}

// DeviceStates returns a snapshot of every simulated device.
func (s *Simulator) DeviceStates() []DeviceState {
	out := make([]DeviceState, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.state()
	}
	return out
}

// DeviceState returns the snapshot of one device.
func (s *Simulator) DeviceState(eui lorawan.EUI64) (DeviceState, bool) {
	n, ok := s.byEUI[eui]
	if !ok {
		return DeviceState{}, false
	}
	return n.state(), true
}
