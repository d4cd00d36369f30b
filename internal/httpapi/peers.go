package httpapi

import (
	"net/http"
)

// PeerLister lists the instances of the county network with the link's
// figures (JSON-ready, without tokens or keys); nil when roaming is off.
type PeerLister interface {
	PeerList() any
}

// listPeers answers GET /api/v1/peers.
func (s *Server) listPeers(w http.ResponseWriter, _ *http.Request) error {
	if s.opts.Peers == nil {
		return errNotConfigured
	}
	writeJSON(w, http.StatusOK, s.opts.Peers.PeerList())
	return nil
}
