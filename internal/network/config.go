package network

import (
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	"github.com/loraedge/loraedge/internal/network/adr"
)

// Config is the network section of the daemon's configuration.
type Config struct {
	Band             string        `mapstructure:"band"`
	NetID            lorawan.NetID `mapstructure:"net_id"`
	DedupWindow      time.Duration `mapstructure:"dedup_window"`
	RX1Delay         time.Duration `mapstructure:"rx1_delay"`
	JoinAcceptDelay1 time.Duration `mapstructure:"join_accept_delay1"`
	RX1DROffset      int           `mapstructure:"rx1_dr_offset"`
	RX2Frequency     uint32        `mapstructure:"rx2_frequency"`
	// RX2DataRate is a LoRa data rate index of the band (EU868 DR0 is
	// SF12BW125).
	RX2DataRate int    `mapstructure:"rx2_data_rate"`
	MaxFCntGap  uint32 `mapstructure:"max_fcnt_gap"`
	// DownlinkTXPower is the EIRP (dBm) of every downlink, capped by the
	// band's limit for its frequency (EU868: 14 dBm, 27 dBm in
	// 869.4-869.65 MHz); 0 means the band's limit.
	DownlinkTXPower int `mapstructure:"downlink_tx_power"`
	QueueSize       int `mapstructure:"queue_size"`
	// DutyCycle "on" charges every downlink's time on air to its gateway's
	// EU868 sub-band and holds back what would exceed the limit; "off" is
	// for lab gateways only.
	DutyCycle string `mapstructure:"duty_cycle"`
	// ConfirmedRetries is how often a confirmed downlink the device has not
	// acknowledged is sent again, one retry per uplink, before it is
	// dropped and counted as failed.
	ConfirmedRetries int `mapstructure:"confirmed_retries"`
	// ADR selects and tunes the adaptive data rate.
	ADR ADRConfig `mapstructure:"adr"`
	// DevStatusInterval is how often each device is sent a DevStatusReq;
	// 0 turns it off.
	DevStatusInterval time.Duration `mapstructure:"dev_status_interval"`
	// MACRetries is how often an unanswered MAC command is sent again
	// before the device is marked as not answering it.
	MACRetries int `mapstructure:"mac_retries"`
	// MaxDutyCycle, when above 0, is sent in a DutyCycleReq: the device
	// limits its aggregated duty cycle to 1/2^MaxDutyCycle.
	MaxDutyCycle int `mapstructure:"max_duty_cycle"`
}

// ADRConfig is the network.adr section.
type ADRConfig struct {
	// Algorithm is "loraedge" (the default) or "maxsnr".
	Algorithm string `mapstructure:"algorithm"`
	// MarginDB is the installation margin in dB a setting keeps above the
	// demodulation floor; a device profile may set its own.
	MarginDB float64 `mapstructure:"margin_db"`
}

// Values of Config.DutyCycle.
const (
	dutyCycleOn  = "on"
	dutyCycleOff = "off"
)

// DefaultConfig returns the EU868 defaults of the daemon's configuration.
// The receive windows are the band's own defaults (LoRaWAN Regional
// Parameters, as brocaar/lorawan's band package has them): 1 s, 5 s for
// the join-accept, RX2 at 869.525 MHz DR0.
func DefaultConfig() Config {
	c := Config{
		Band:            string(band.EU868),
		DedupWindow:     200 * time.Millisecond,
		MaxFCntGap:      16384,
		DownlinkTXPower: 27,
		QueueSize:       4096,
		DutyCycle:       dutyCycleOn,
		// Three retries are ChirpStack's and most devices' default
		// (ACK_TIMEOUT-driven retransmissions on the device side too).
		ConfirmedRetries: 3,
		ADR:              ADRConfig{Algorithm: adr.DefaultAlgorithm, MarginDB: adr.DefaultMargin},
		// Once a day is what battery rules need and costs a device one
		// downlink a day.
		DevStatusInterval: 24 * time.Hour,
		MACRetries:        3,
	}
	if b, err := band.GetConfig(band.EU868, false, lorawan.DwellTimeNoLimit); err == nil {
		def := b.GetDefaults()
		c.RX1Delay, c.JoinAcceptDelay1 = def.ReceiveDelay1, def.JoinAcceptDelay1
		c.RX2Frequency, c.RX2DataRate = def.RX2Frequency, def.RX2DataRate
	}
	return c
}

// Validate reports every problem at once, each prefixed with its key path
// in the daemon's configuration (network.*).
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.Band != "EU868" {
		add("network.band", "%q is not supported (EU868)", c.Band)
	}
	if c.DedupWindow < 10*time.Millisecond || c.DedupWindow > 2*time.Second {
		add("network.dedup_window", "%s is outside 10ms..2s", c.DedupWindow)
	}
	if c.RX1Delay < time.Second || c.RX1Delay > 15*time.Second || c.RX1Delay%time.Second != 0 {
		add("network.rx1_delay", "%s must be whole seconds from 1s to 15s", c.RX1Delay)
	}
	if c.JoinAcceptDelay1 != 5*time.Second {
		add("network.join_accept_delay1", "%s: EU868 fixes JOIN_ACCEPT_DELAY1 at 5s", c.JoinAcceptDelay1)
	}
	if c.RX1DROffset < 0 || c.RX1DROffset > 5 {
		add("network.rx1_dr_offset", "%d is outside 0..5", c.RX1DROffset)
	}
	if c.RX2Frequency < 863000000 || c.RX2Frequency > 870000000 {
		add("network.rx2_frequency", "%d Hz is outside the EU868 band", c.RX2Frequency)
	}
	if c.RX2DataRate < 0 || c.RX2DataRate > 7 {
		add("network.rx2_data_rate", "%d is outside DR0..DR7", c.RX2DataRate)
	}
	if c.MaxFCntGap < 1 {
		add("network.max_fcnt_gap", "must be at least 1")
	}
	if c.DownlinkTXPower < 0 || c.DownlinkTXPower > 27 {
		add("network.downlink_tx_power", "%d dBm is outside 0..27", c.DownlinkTXPower)
	}
	if c.QueueSize < 1 {
		add("network.queue_size", "must be at least 1, is %d", c.QueueSize)
	}
	if c.DutyCycle != dutyCycleOn && c.DutyCycle != dutyCycleOff {
		add("network.duty_cycle", "%q is neither on nor off", c.DutyCycle)
	}
	if c.ConfirmedRetries < 1 || c.ConfirmedRetries > 15 {
		// 0 cannot mean none: zero fields take the defaults (NewServer), and
		// a payload that needs no ACK is better sent unconfirmed.
		add("network.confirmed_retries", "%d is outside 1..15", c.ConfirmedRetries)
	}
	if _, err := adr.New(c.ADR.Algorithm); err != nil {
		add("network.adr.algorithm", "%v", err)
	}
	if c.ADR.MarginDB < 0 || c.ADR.MarginDB > 30 {
		add("network.adr.margin_db", "%g dB is outside 0..30", c.ADR.MarginDB)
	}
	if c.DevStatusInterval < 0 {
		add("network.dev_status_interval", "%s is negative (0 turns it off)", c.DevStatusInterval)
	}
	if c.MACRetries < 1 || c.MACRetries > 10 {
		add("network.mac_retries", "%d is outside 1..10", c.MACRetries)
	}
	if c.MaxDutyCycle < 0 || c.MaxDutyCycle > 15 {
		add("network.max_duty_cycle", "%d is outside 0..15 (0: none, n: 1/2^n)", c.MaxDutyCycle)
	}
	return errors.Join(errs...)
}
