package roaming

import "github.com/brocaar/lorawan"

// forwarded tells FederationOptions.Forwarded what became of fr.
func (f *Federation) forwarded(fr Frame, home, outcome string) {
	if f.opts.Forwarded != nil {
		f.opts.Forwarded(fr, home, outcome)
	}
}

// forwardOutcome says in a few words what the home made of a frame sent
// to it, as an installer reads it in the frame log.
func forwardOutcome(home string, err error) string {
	if err == nil {
		return "forwarded to " + home + ", the device's home: accepted"
	}
	return "forwarded to " + home + ", refused: " + err.Error()
}

// RemotePeer names the peer whose gateway gw is, if a downlink can go
// through it (a gateway that forwarded a frame here).
func (f *Federation) RemotePeer(gw lorawan.EUI64) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.remotes[gw]
	if !ok {
		return "", false
	}
	return r.peer.Name, true
}
