package httpapi

import (
	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/inputerr"
)

// noDevice is the 404 for a DevEUI the registry lacks; it names the
// closest known DevEUIs, since a mistyped EUI is the usual cause.
func (s *Server) noDevice(eui lorawan.EUI64) error {
	var known []string
	for _, d := range s.opts.Devices.List() {
		known = append(known, d.DevEUI.String())
	}
	return notFound("no device " + eui.String() + inputerr.Suggest(eui.String(), known, "16 hex digits"))
}
