package semtechudp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/brocaar/lorawan"
)

// GatewayConfig is one entry of the top-level gateways list: a packet
// forwarder allowed to talk to this daemon. With a list, datagrams from
// unlisted EUIs or from outside a gateway's networks are refused.
type GatewayConfig struct {
	ID   lorawan.EUI64 `mapstructure:"id"`
	Name string        `mapstructure:"name"`
	// AllowedFrom lists the networks the gateway's datagrams may come
	// from, e.g. 10.20.0.7/32; empty means any source.
	AllowedFrom []netip.Prefix `mapstructure:"allowed_from"`
	Location    Location       `mapstructure:"location"`
}

// Location is where a listed gateway stands (WGS84 degrees, 0/0 unknown).
type Location struct {
	Lat float64 `mapstructure:"lat"`
	Lon float64 `mapstructure:"lon"`
}

// ValidateGateways checks the gateways list against the udp section: each
// entry prefixed with its key path, and a listener on a non-loopback address
// needs a list, because GWMP has no authentication and anyone on the network
// could otherwise impersonate a gateway.
func ValidateGateways(udp Config, list []GatewayConfig) error {
	var errs []error
	seen := map[lorawan.EUI64]bool{}
	for i, g := range list {
		if g.ID == (lorawan.EUI64{}) {
			errs = append(errs, fmt.Errorf("gateways[%d].id: required (the gateway EUI, 16 hex digits)", i))
		} else if seen[g.ID] {
			errs = append(errs, fmt.Errorf("gateways[%d].id: %s listed twice", i, g.ID))
		}
		seen[g.ID] = true
		for j, p := range g.AllowedFrom {
			if !p.IsValid() {
				errs = append(errs, fmt.Errorf("gateways[%d].allowed_from[%d]: not a CIDR network like 10.0.0.0/24", i, j))
			}
		}
		if g.Location.Lat < -90 || g.Location.Lat > 90 || g.Location.Lon < -180 || g.Location.Lon > 180 {
			errs = append(errs, fmt.Errorf("gateways[%d].location: %g,%g is not a WGS84 position", i, g.Location.Lat, g.Location.Lon))
		}
	}
	if len(list) == 0 && udp.Listen != "" && !ListenIsLoopback(udp.Listen) {
		errs = append(errs, fmt.Errorf("udp.listen: %q is not a loopback address; GWMP has no authentication, so listening "+
			"beyond 127.0.0.1 needs a gateways list (gateways: [{id, allowed_from}]) or listen: \"127.0.0.1:1700\"", udp.Listen))
	}
	return errors.Join(errs...)
}

// ListenIsLoopback reports whether a listen address binds loopback only
// (an empty host, as in ":1700", binds every interface).
func ListenIsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Refusal reasons of loraedge_semtechudp_datagrams_refused_total.
const (
	refusedUnlisted  = "unlisted_gateway"   // EUI not in the gateways list
	refusedSource    = "source_not_allowed" // source outside the gateway's allowed_from
	refusedPullMove  = "pull_address_pinned"
	refusedTxAckAddr = "tx_ack_address" // TX_ACK from another IP than the pinned one
)

var refusedReasons = []string{refusedUnlisted, refusedSource, refusedPullMove, refusedTxAckAddr}

// admitted reports whether a datagram of gateway id from addr passes the
// gateways list; refusals are counted and logged. Receive goroutine only.
func (s *Server) admitted(id lorawan.EUI64, addr netip.AddrPort) bool {
	if s.listed == nil {
		return true
	}
	g, ok := s.listed[id]
	if !ok {
		s.refuse(refusedUnlisted, id, addr)
		return false
	}
	if len(g.AllowedFrom) == 0 {
		return true
	}
	ip := addr.Addr().Unmap()
	for _, p := range g.AllowedFrom {
		if p.Contains(ip) {
			return true
		}
	}
	s.refuse(refusedSource, id, addr)
	return false
}

func (s *Server) refuse(reason string, id lorawan.EUI64, addr netip.AddrPort) {
	s.m.refused.WithLabelValues(reason).Inc()
	s.logLimited("refused_"+reason, "gateway datagram refused", "reason", reason,
		"gateway_id", id.String(), "addr", addr.String())
}

// pullMove tracks PULL_DATA from an address other than the pinned one.
type pullMove struct {
	ip    netip.Addr
	count int
}

// acceptPullAddr decides whether a PULL_DATA from addr may set the
// gateway's downlink address; gwMu held. The address is pinned to the IP of
// the first PULL_DATA (a new port on that IP is a restarted forwarder). A
// move to another IP needs the pinned IP silent for PullMoveAfter and
// PullMoveCount PULL_DATA in a row from the new IP: a spoofer cannot
// silence the real forwarder, whose keepalive (typically every 10 s)
// resets the count.
func (s *Server) acceptPullAddr(g *gateway, addr netip.AddrPort, now time.Time) (accept, moved bool) {
	ip := addr.Addr().Unmap()
	if !g.pullAddr.IsValid() || g.pullAddr.Addr().Unmap() == ip {
		g.move = pullMove{}
		g.pinnedPull = now
		return true, false
	}
	if now.Sub(g.pinnedPull) < s.opts.Config.PullMoveAfter {
		g.move = pullMove{}
		return false, false
	}
	if g.move.ip != ip {
		g.move = pullMove{ip: ip}
	}
	g.move.count++
	if g.move.count < s.opts.Config.PullMoveCount {
		return false, false
	}
	g.move = pullMove{}
	g.pinnedPull = now
	return true, true
}
