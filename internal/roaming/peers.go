package roaming

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/brocaar/lorawan"
	"gopkg.in/yaml.v3"
)

// Table is the county's peer table: every instance of the network, the
// same file on every gateway. It holds no secret (tokens only as SHA-256,
// certificates only as the CA that signs them), so it can be copied around
// and shown; each instance's own token and key stay in its configuration.
type Table struct {
	// NetID is the county network's NetID; every block lies inside it.
	NetID lorawan.NetID `yaml:"net_id" json:"net_id"`
	Peers []Peer        `yaml:"peers" json:"peers"`
}

// Peer is one loraedge instance of the county network.
type Peer struct {
	// NSID is the instance's network server id (an EUI-64), sent as
	// SenderNSID/ReceiverNSID.
	NSID lorawan.EUI64 `yaml:"nsid" json:"nsid"`
	// Name is what the operator calls it (the building), for logs and the
	// peers page.
	Name string `yaml:"name" json:"name"`
	// URL is the base of its Backend Interfaces endpoint (https://host:port).
	URL string `yaml:"url" json:"url"`
	// DevAddrBlocks are the blocks it assigns DevAddrs from at OTAA join.
	DevAddrBlocks []Block `yaml:"dev_addr_blocks" json:"dev_addr_blocks"`
	// Devices are the devices it is home of (ABP devices must be listed
	// here or in a range; OTAA devices may be).
	Devices []lorawan.EUI64 `yaml:"devices" json:"devices,omitempty"`
	// DevEUIRanges and JoinEUIRanges make it the home of every device in
	// them ("first-last", both inclusive).
	DevEUIRanges  []EUIRange `yaml:"dev_eui_ranges" json:"dev_eui_ranges,omitempty"`
	JoinEUIRanges []EUIRange `yaml:"join_eui_ranges" json:"join_eui_ranges,omitempty"`
	// Auth tells how its requests are recognised.
	Auth PeerAuth `yaml:"auth" json:"auth"`
}

// PeerAuth is how a peer proves who it is. Either or both may be set; a
// request must pass every one that is.
type PeerAuth struct {
	// TokenSHA256 is the SHA-256 (hex) of the bearer token the peer sends.
	TokenSHA256 string `yaml:"token_sha256" json:"-"`
	// CAFile is the PEM CA that signs the peer's client certificate, whose
	// subject common name or a DNS name is the peer's NSID in hex; relative
	// to the table's directory.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`

	hash  []byte
	ca    *x509.CertPool
	certs []*x509.Certificate
}

// EUIRange is an inclusive range of EUI-64s, written "first-last".
type EUIRange struct {
	First, Last lorawan.EUI64
}

// UnmarshalText reads "first-last" (or a single EUI).
func (r *EUIRange) UnmarshalText(text []byte) error {
	a, b, ok := strings.Cut(string(text), "-")
	if !ok {
		b = a
	}
	if err := r.First.UnmarshalText([]byte(a)); err != nil {
		return fmt.Errorf("%q: %w", text, err)
	}
	if err := r.Last.UnmarshalText([]byte(b)); err != nil {
		return fmt.Errorf("%q: %w", text, err)
	}
	if bytes.Compare(r.First[:], r.Last[:]) > 0 {
		return fmt.Errorf("%q: first above last", text)
	}
	return nil
}

// MarshalText writes "first-last".
func (r EUIRange) MarshalText() ([]byte, error) {
	return []byte(r.First.String() + "-" + r.Last.String()), nil
}

// Contains reports whether e lies in the range.
func (r EUIRange) Contains(e lorawan.EUI64) bool {
	return bytes.Compare(e[:], r.First[:]) >= 0 && bytes.Compare(e[:], r.Last[:]) <= 0
}

func (r EUIRange) overlaps(o EUIRange) bool {
	return bytes.Compare(r.First[:], o.Last[:]) <= 0 && bytes.Compare(o.First[:], r.Last[:]) <= 0
}

// LoadTable reads and checks a peer table file; self is this instance's
// NSID, which must be in it. CA files are read relative to the file.
func LoadTable(path string, self lorawan.EUI64) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("peer table: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("peer table %s: %w", path, err)
	}
	if err := t.check(self, filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("peer table %s: %w", path, err)
	}
	return &t, nil
}

// check reports every problem of the table at once, each with its path.
func (t *Table) check(self lorawan.EUI64, dir string) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if len(t.Peers) == 0 {
		add("peers", "empty")
	}
	nsids := map[lorawan.EUI64]int{}
	homes := map[lorawan.EUI64]string{}
	found := false
	for i := range t.Peers {
		p := &t.Peers[i]
		at := fmt.Sprintf("peers[%d]", i)
		if j, ok := nsids[p.NSID]; ok {
			add(at+".nsid", "%s is also peers[%d]", p.NSID, j)
		}
		nsids[p.NSID] = i
		found = found || p.NSID == self
		if u, err := url.Parse(p.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			add(at+".url", "%q is not an https://host:port URL", p.URL)
		}
		if len(p.DevAddrBlocks) == 0 {
			add(at+".dev_addr_blocks", "at least one block is required")
		}
		for k, b := range p.DevAddrBlocks {
			if !b.InNetID(t.NetID) {
				add(fmt.Sprintf("%s.dev_addr_blocks[%d]", at, k), "%s is not inside NetID %s", b, t.NetID)
			}
			for j := range i + 1 {
				for l, o := range t.Peers[j].DevAddrBlocks {
					if (j < i || l < k) && b.Overlaps(o) {
						add(fmt.Sprintf("%s.dev_addr_blocks[%d]", at, k), "%s overlaps peers[%d].dev_addr_blocks[%d] %s", b, j, l, o)
					}
				}
			}
		}
		for k, d := range p.Devices {
			if h, ok := homes[d]; ok {
				add(fmt.Sprintf("%s.devices[%d]", at, k), "%s is already homed at %s", d, h)
			}
			homes[d] = p.Name
		}
		checkRanges(t.Peers[:i+1], func(q *Peer) []EUIRange { return q.DevEUIRanges }, at+".dev_eui_ranges", add)
		checkRanges(t.Peers[:i+1], func(q *Peer) []EUIRange { return q.JoinEUIRanges }, at+".join_eui_ranges", add)
		if err := p.Auth.load(dir); err != nil {
			add(at+".auth", "%v", err)
		}
	}
	if !found {
		add("peers", "this instance (roaming.nsid %s) is not in the table", self)
	}
	return errors.Join(errs...)
}

// checkRanges reports a range of the last peer that overlaps one of an
// earlier peer or an earlier one of its own.
func checkRanges(peers []Peer, of func(*Peer) []EUIRange, at string, add func(string, string, ...any)) {
	last := len(peers) - 1
	for k, r := range of(&peers[last]) {
		for j := range peers {
			for l, o := range of(&peers[j]) {
				if (j < last || l < k) && r.overlaps(o) {
					add(fmt.Sprintf("%s[%d]", at, k), "overlaps peers[%d] range %s-%s", j, o.First, o.Last)
				}
			}
		}
	}
}

func (a *PeerAuth) load(dir string) error {
	if a.TokenSHA256 == "" && a.CAFile == "" {
		return errors.New("token_sha256 or ca_file is required: an unauthenticated peer link would let anyone inject frames")
	}
	if a.TokenSHA256 != "" {
		h, err := hex.DecodeString(a.TokenSHA256)
		if err != nil || len(h) != sha256.Size {
			return errors.New("token_sha256: expected 64 hex digits (sha256sum of the token)")
		}
		a.hash = h
	}
	if a.CAFile != "" {
		p := a.CAFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("ca_file: %w", err)
		}
		for rest := data; len(rest) > 0; {
			var blk *pem.Block
			blk, rest = decodePEM(rest)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return fmt.Errorf("ca_file %s: %w", a.CAFile, err)
			}
			a.certs = append(a.certs, c)
		}
		if len(a.certs) == 0 {
			return fmt.Errorf("ca_file %s: no PEM certificate", a.CAFile)
		}
		a.ca = x509.NewCertPool()
		for _, c := range a.certs {
			a.ca.AddCert(c)
		}
	}
	return nil
}

// decodePEM returns the next CERTIFICATE block and the rest.
func decodePEM(data []byte) (*pem.Block, []byte) {
	for {
		b, rest := pem.Decode(data)
		if b == nil || b.Type == "CERTIFICATE" {
			return b, rest
		}
		data = rest
	}
}

// TokenMatches reports whether token is the peer's (in constant time).
func (a *PeerAuth) TokenMatches(token string) bool {
	if a.hash == nil {
		return false
	}
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], a.hash) == 1
}

// Peer returns the peer with this NSID.
func (t *Table) Peer(nsid lorawan.EUI64) (*Peer, bool) {
	for i := range t.Peers {
		if t.Peers[i].NSID == nsid {
			return &t.Peers[i], true
		}
	}
	return nil, false
}

// HomeOfDevAddr returns the peer whose block holds addr.
func (t *Table) HomeOfDevAddr(addr lorawan.DevAddr) (*Peer, bool) {
	for i := range t.Peers {
		for _, b := range t.Peers[i].DevAddrBlocks {
			if b.Contains(addr) {
				return &t.Peers[i], true
			}
		}
	}
	return nil, false
}

// HomeOfDevice returns the peer that is home of the device: listed by
// DevEUI first, then a DevEUI range, then a JoinEUI range.
func (t *Table) HomeOfDevice(devEUI, joinEUI lorawan.EUI64) (*Peer, bool) {
	for i := range t.Peers {
		for _, d := range t.Peers[i].Devices {
			if d == devEUI {
				return &t.Peers[i], true
			}
		}
	}
	for i := range t.Peers {
		for _, r := range t.Peers[i].DevEUIRanges {
			if r.Contains(devEUI) {
				return &t.Peers[i], true
			}
		}
	}
	for i := range t.Peers {
		for _, r := range t.Peers[i].JoinEUIRanges {
			if r.Contains(joinEUI) {
				return &t.Peers[i], true
			}
		}
	}
	return nil, false
}
