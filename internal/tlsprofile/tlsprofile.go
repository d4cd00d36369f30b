// Package tlsprofile holds the one TLS setting every server of the daemon
// uses: the web page and API, the Basics Station LNS and the county peer
// link, so a change of policy is made once and applies to all three.
package tlsprofile

import "crypto/tls"

// Server returns a new server configuration with TLS 1.2 and 1.3, forward
// secrecy and AEAD ciphers only (Mozilla's "intermediate" profile): TLS
// 1.3 alone would lock out the older browsers, monitoring tools and
// gateway firmware still found in county offices, while the TLS 1.2
// suites left (ECDHE with AES-GCM or ChaCha20-Poly1305) have no known
// weakness. Go's TLS 1.3 suites are all AEAD and fixed. The caller adds
// certificates and client authentication.
func Server() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
