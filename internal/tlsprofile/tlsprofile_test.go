package tlsprofile

import (
	"crypto/tls"
	"testing"
)

func TestServerRefusesWeakSuites(t *testing.T) {
	c := Server()
	if c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x, want TLS 1.2", c.MinVersion)
	}
	insecure := map[uint16]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.ID] = true
	}
	for _, id := range c.CipherSuites {
		if insecure[id] {
			t.Errorf("suite %s is insecure", tls.CipherSuiteName(id))
		}
		name := tls.CipherSuiteName(id)
		if len(name) < 10 || name[:10] != "TLS_ECDHE_" {
			t.Errorf("suite %s has no forward secrecy", name)
		}
	}
	// Each call is a fresh value: a caller adding certificates must not
	// change another server's configuration.
	c.CipherSuites[0] = 0
	if Server().CipherSuites[0] == 0 {
		t.Fatal("Server returned a shared configuration")
	}
}
