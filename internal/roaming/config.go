package roaming

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/brocaar/lorawan"
)

// Config is the roaming section of the daemon's configuration: this
// instance's place in the county network. The county-wide facts (who is
// home of what) are in the peer table file, the same on every gateway.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// NSID is this instance's network server id; it must be in the table.
	NSID lorawan.EUI64 `mapstructure:"nsid"`
	// PeersFile is the county's peer table.
	PeersFile string `mapstructure:"peers_file"`
	// Listen is the address of the Backend Interfaces HTTPS endpoint.
	Listen string `mapstructure:"listen"`
	// CertFile and KeyFile are this instance's certificate: the server
	// certificate of Listen and the client certificate it shows its peers.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// Token is the bearer token this instance sends (its SHA-256 is in the
	// table); better set as LORAEDGE_ROAMING_TOKEN. Never logged.
	Token string `mapstructure:"token"`
	// RequestTimeout bounds one request to a peer.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// RateLimit is the most requests per second taken from one peer (with
	// a burst of twice that); more are refused with 429 and counted.
	RateLimit float64 `mapstructure:"rate_limit"`
	// QueueSize bounds the durable queue of frames for an unreachable home,
	// per home; frames beyond it are dropped and counted.
	QueueSize int `mapstructure:"queue_size"`
	// RXDelay is the RX1 delay given to devices of this instance when it is
	// part of a county network (join-accept RxDelay, RXTimingSetupReq for
	// ABP): a downlink through a peer's gateway needs the home's dedup
	// window, two peer round trips and the forwarder's scheduling margin.
	RXDelay time.Duration `mapstructure:"rx_delay"`
}

// DefaultConfig returns the defaults: off; port 8443; 2 s per request;
// 200 requests/s per peer; 100,000 queued frames per home; RX1 delay 2 s.
func DefaultConfig() Config {
	return Config{
		Listen:         ":8443",
		RequestTimeout: 2 * time.Second,
		RateLimit:      200,
		QueueSize:      100000,
		RXDelay:        2 * time.Second,
	}
}

// Validate reports every problem at once, each with its key path
// (roaming.*). The peer table itself is checked by LoadTable.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("roaming.%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.NSID == (lorawan.EUI64{}) {
		add("nsid", "required (this instance's EUI-64 in the peer table)")
	}
	if c.PeersFile == "" {
		add("peers_file", "required")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q is not host:port", c.Listen)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		add("cert_file", "cert_file and key_file go together")
	}
	if c.CertFile == "" {
		add("cert_file", "required: the peer link is HTTPS")
	}
	if c.RequestTimeout < 10*time.Millisecond || c.RequestTimeout > time.Minute {
		add("request_timeout", "%s is outside 10ms..1m", c.RequestTimeout)
	}
	if c.RateLimit < 1 || c.RateLimit > 100000 {
		add("rate_limit", "%g is outside 1..100000", c.RateLimit)
	}
	if c.QueueSize < 1 || c.QueueSize > 10000000 {
		add("queue_size", "%d is outside 1..10000000", c.QueueSize)
	}
	if c.RXDelay < time.Second || c.RXDelay > 15*time.Second || c.RXDelay%time.Second != 0 {
		add("rx_delay", "%s must be whole seconds from 1s to 15s", c.RXDelay)
	}
	return errors.Join(errs...)
}
