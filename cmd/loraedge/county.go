package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/sim"
)

// countyScenario is the simulator scenario the county commands set up.
const countyScenario = "county"

// countyPlan is where the instances of a county demo listen: instance i
// of sim.Instances uses each base port plus i.
type countyPlan struct {
	Dir                             string
	Host                            string
	GWMPPort, HTTPPort, RoamingPort int
	// DedupWindow is every instance's network.dedup_window.
	DedupWindow time.Duration
	// MQTT, if set, is the broker every instance publishes to.
	MQTT string
	// Force overwrites an existing county directory.
	Force bool
	// AdminToken is every instance's web page token; empty: generated.
	AdminToken string
	// Ports, if set, are each instance's ports instead of the bases'.
	Ports []countyPorts
}

// countyPorts are one instance's ports.
type countyPorts struct{ GWMP, HTTP, Roaming int }

// ports returns instance i's ports.
func (p countyPlan) ports(i int) countyPorts {
	if i < len(p.Ports) {
		return p.Ports[i]
	}
	return countyPorts{GWMP: p.GWMPPort + i, HTTP: p.HTTPPort + i, Roaming: p.RoamingPort + i}
}

func defaultCountyPlan() countyPlan {
	return countyPlan{Host: "127.0.0.1", GWMPPort: 1701, HTTPPort: 8081, RoamingPort: 8441, DedupWindow: 400 * time.Millisecond}
}

// countyInstance is one written instance of a county demo.
type countyInstance struct {
	Name, NSID, Config string
	GWMP, HTTP         string
}

// countyLayout is what writeCounty wrote.
type countyLayout struct {
	Instances  []countyInstance
	PeersFile  string
	AdminToken string
}

// gwmpTargets is the --targets value that feeds each instance's gateway.
func (l countyLayout) gwmpTargets() string {
	parts := make([]string, len(l.Instances))
	for i, in := range l.Instances {
		parts[i] = in.Name + "=" + in.GWMP
	}
	return strings.Join(parts, ",")
}

func newCountyCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "county",
		Short: "Set up a county network of three loraedge instances on this machine, for the simulator",
	}
	plan := defaultCountyPlan()
	initCmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Write three instances' configurations, certificates, tokens and the shared peer table into DIR",
		Long: "Writes DIR/peers.yaml (the county peer table), DIR/county-ca.pem and .key (the county CA), and\n" +
			"per instance DIR/NAME/loraedge.yaml with its certificate, roaming token and home devices of the\n" +
			"simulator's county scenario. Start each with `loraedge run -c DIR/NAME/loraedge.yaml`, then\n" +
			"`loraedge simulate --scenario county` (its default --targets match the default ports).\n" +
			"The keys are test keys: a demo, not a deployment.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			plan.Dir = args[0]
			l, err := writeCounty(plan)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "County network written to %s (peer table %s).\nWeb pages (token %s):\n", plan.Dir, l.PeersFile, l.AdminToken)
			for _, in := range l.Instances {
				fmt.Fprintf(e.stdout, "  %-8s http://%s/  (GWMP %s)   loraedge run -c %s\n", in.Name, in.HTTP, in.GWMP, in.Config)
			}
			fmt.Fprintf(e.stdout, "Then: loraedge simulate --scenario county --targets %s\n", l.gwmpTargets())
			return nil
		},
	}
	f := initCmd.Flags()
	f.StringVar(&plan.Host, "host", plan.Host, "address every instance listens on")
	f.IntVar(&plan.GWMPPort, "gwmp-port", plan.GWMPPort, "GWMP port of the first instance (the next ones +1, +2)")
	f.IntVar(&plan.HTTPPort, "http-port", plan.HTTPPort, "web page port of the first instance")
	f.IntVar(&plan.RoamingPort, "roaming-port", plan.RoamingPort, "peer link (HTTPS) port of the first instance")
	f.DurationVar(&plan.DedupWindow, "dedup-window", plan.DedupWindow, "network.dedup_window of every instance")
	f.StringVar(&plan.MQTT, "mqtt", "", "MQTT broker URL for every instance (empty: MQTT off)")
	f.StringVar(&plan.AdminToken, "admin-token", "", "web page token of every instance (default: generated)")
	f.BoolVar(&plan.Force, "force", false, "overwrite an existing county in DIR")
	cmd.AddCommand(initCmd)
	return cmd
}

// writeCounty writes the county demo of plan into plan.Dir: the CA, the
// peer table and each instance's configuration with its certificate,
// token and home devices.
func writeCounty(plan countyPlan) (countyLayout, error) {
	var l countyLayout
	insts := sim.Instances(countyScenario)
	if len(insts) == 0 {
		return l, errors.New("county: the simulator has no county scenario")
	}
	dir, err := filepath.Abs(plan.Dir)
	if err != nil {
		return l, fmt.Errorf("county: %w", err)
	}
	l.PeersFile = filepath.Join(dir, "peers.yaml")
	if _, err := os.Stat(l.PeersFile); err == nil && !plan.Force {
		return l, fmt.Errorf("county: %s exists (--force overwrites it and every instance's keys)", l.PeersFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return l, fmt.Errorf("county: %w", err)
	}
	ca, err := newCountyCA(dir)
	if err != nil {
		return l, err
	}
	l.AdminToken = plan.AdminToken
	if l.AdminToken == "" {
		if l.AdminToken, err = randomToken(); err != nil {
			return l, err
		}
	} else if len(l.AdminToken) < 16 {
		return l, errors.New("county: --admin-token: at least 16 characters")
	}
	homes := sim.Homes(countyScenario)
	table := countyTable{NetID: "000000"}
	for i, in := range insts {
		node, peer, err := writeCountyInstance(plan, dir, i, in, ca, homes, l)
		if err != nil {
			return l, err
		}
		l.Instances = append(l.Instances, node)
		table.Peers = append(table.Peers, peer)
	}
	head := "# The county's peer table: the same file on every gateway. It holds no secret.\n"
	return l, writeYAML(l.PeersFile, head, table)
}

// writeYAML writes v as YAML after a comment head.
func writeYAML(file, head string, v any) error {
	var b strings.Builder
	b.WriteString(head)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("county: %s: %w", file, err)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("county: %w", err)
	}
	return nil
}

// countyTable and countyPeer are the peer table file's shape
// (roaming.Table reads it).
type countyTable struct {
	NetID string       `yaml:"net_id"`
	Peers []countyPeer `yaml:"peers"`
}

type countyPeer struct {
	NSID          string     `yaml:"nsid"`
	Name          string     `yaml:"name"`
	URL           string     `yaml:"url"`
	DevAddrBlocks []string   `yaml:"dev_addr_blocks"`
	Devices       []string   `yaml:"devices"`
	Auth          countyAuth `yaml:"auth"`
}

type countyAuth struct {
	TokenSHA256 string `yaml:"token_sha256"`
	CAFile      string `yaml:"ca_file"`
}

// countyConfig is one instance's configuration file.
type countyConfig struct {
	GatewayID string            `yaml:"gateway_id"`
	DataDir   string            `yaml:"data_dir"`
	Log       map[string]string `yaml:"log"`
	UDP       map[string]string `yaml:"udp"`
	HTTP      map[string]string `yaml:"http"`
	Network   map[string]string `yaml:"network"`
	MQTT      map[string]any    `yaml:"mqtt,omitempty"`
	Roaming   map[string]any    `yaml:"roaming"`
	Sites     []simSiteYAML     `yaml:"sites"`
	Devices   []simDeviceYAML   `yaml:"devices"`
}

func writeCountyInstance(plan countyPlan, dir string, i int, in sim.Instance, ca *countyCA, homes map[lorawan.EUI64]string, l countyLayout) (countyInstance, countyPeer, error) {
	// NSIDs of the demo: a fixed prefix and the instance's number.
	nsid := fmt.Sprintf("0016c001ff1000%02x", i+1)
	ports := plan.ports(i)
	node := countyInstance{Name: in.Name, NSID: nsid,
		GWMP: net.JoinHostPort(plan.Host, strconv.Itoa(ports.GWMP)),
		HTTP: net.JoinHostPort(plan.Host, strconv.Itoa(ports.HTTP))}
	roamingAddr := net.JoinHostPort(plan.Host, strconv.Itoa(ports.Roaming))
	nodeDir := filepath.Join(dir, in.Name)
	if err := os.MkdirAll(nodeDir, 0o700); err != nil {
		return node, countyPeer{}, fmt.Errorf("county: %w", err)
	}
	certFile, keyFile := filepath.Join(nodeDir, "node.pem"), filepath.Join(nodeDir, "node.key")
	if err := ca.issue(nsid, plan.Host, certFile, keyFile); err != nil {
		return node, countyPeer{}, err
	}
	token, err := randomToken()
	if err != nil {
		return node, countyPeer{}, err
	}
	sum := sha256.Sum256([]byte(token))
	peer := countyPeer{NSID: nsid, Name: in.Name, URL: "https://" + roamingAddr, DevAddrBlocks: []string{in.DevAddrBlock},
		Auth: countyAuth{TokenSHA256: hex.EncodeToString(sum[:]), CAFile: filepath.Base(ca.file)}}

	var devs []device.Device
	usedSites := map[string]bool{in.Site: true}
	for _, d := range sim.Devices(countyScenario) {
		if homes[d.DevEUI] == in.Name {
			devs = append(devs, d)
			usedSites[d.Site] = true
			peer.Devices = append(peer.Devices, d.DevEUI.String())
		}
	}
	var sites []sim.Site
	for _, s := range sim.Sites(countyScenario) {
		if usedSites[s.ID] {
			sites = append(sites, s)
		}
	}
	cfg := countyConfig{
		GatewayID: in.Name,
		DataDir:   filepath.Join(nodeDir, "data"),
		Log:       map[string]string{"format": "text", "level": "info"},
		UDP:       map[string]string{"listen": node.GWMP},
		HTTP:      map[string]string{"listen": node.HTTP, "admin_token": l.AdminToken},
		// The simulator compresses a day into minutes; on air the duty
		// cycle would hold most downlinks back. A real gateway keeps it on.
		Network: map[string]string{"net_id": "000000", "dedup_window": plan.DedupWindow.String(), "duty_cycle": "off"},
		Roaming: map[string]any{"enabled": true, "nsid": nsid, "peers_file": l.PeersFile, "listen": roamingAddr,
			"cert_file": certFile, "key_file": keyFile, "token": token},
		Sites:   simSitesYAML(sites),
		Devices: simDevicesYAML(devs),
	}
	if plan.MQTT != "" {
		cfg.MQTT = map[string]any{"enabled": true, "url": plan.MQTT}
	}
	node.Config = filepath.Join(nodeDir, "loraedge.yaml")
	head := fmt.Sprintf("# loraedge %q of the simulated county network (`loraedge county init`).\n"+
		"# Test keys and tokens: a demo on one machine, not a deployment.\n", in.Name)
	return node, peer, writeYAML(node.Config, head, cfg)
}

// randomToken returns 32 random bytes, base64url.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("county: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// countyCA is the demo county's certificate authority: it signs each
// instance's server-and-client certificate for the peer link.
type countyCA struct {
	file string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// countyCertLife is how long the demo's certificates are valid.
const countyCertLife = 365 * 24 * time.Hour

func newCountyCA(dir string) (*countyCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("county: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loraedge county CA (demo)"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(countyCertLife), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("county: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("county: CA certificate: %w", err)
	}
	ca := &countyCA{file: filepath.Join(dir, "county-ca.pem"), cert: cert, key: key}
	// The CA key stays beside the table so that a fourth gateway can be
	// added to the demo (README, "Adding a gateway to the county network").
	if err := writePEM(ca.file, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("county: CA key: %w", err)
	}
	return ca, writePEM(filepath.Join(dir, "county-ca.key"), "PRIVATE KEY", kder)
}

// issue signs a certificate naming nsid (common name and DNS name) and
// host, for server and client authentication.
func (ca *countyCA) issue(nsid, host, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("county: key of %s: %w", nsid, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return fmt.Errorf("county: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: nsid}, DNSNames: []string{nsid, "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(countyCertLife), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return fmt.Errorf("county: certificate of %s: %w", nsid, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("county: key of %s: %w", nsid, err)
	}
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(keyFile, "PRIVATE KEY", kder)
}

func writePEM(file, typ string, der []byte) error {
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("county: %w", err)
	}
	return nil
}

// simTargets returns each gateway's daemon of a county scenario from
// --targets: NAME=HOST:PORT (any order) or HOST:PORT (gateway order),
// comma separated; unset, the ports of `loraedge county init`. Nil for a
// scenario played against one daemon (--target).
func simTargets(scenario, flag string, set bool) ([]string, error) {
	insts := sim.Instances(scenario)
	if len(insts) == 0 {
		if set {
			return nil, fmt.Errorf("--targets: scenario %q plays against one daemon (--target)", scenario)
		}
		return nil, nil
	}
	out := make([]string, len(insts))
	if !set {
		p := defaultCountyPlan()
		for i := range insts {
			out[i] = net.JoinHostPort(p.Host, strconv.Itoa(p.ports(i).GWMP))
		}
		return out, nil
	}
	parts := strings.Split(flag, ",")
	if len(parts) != len(insts) {
		return nil, fmt.Errorf("--targets: %d addresses for the %d instances of %q", len(parts), len(insts), scenario)
	}
	for i, part := range parts {
		idx, addr := i, strings.TrimSpace(part)
		if name, a, ok := strings.Cut(addr, "="); ok {
			idx, addr = -1, a
			for j, in := range insts {
				if in.Name == name {
					idx = j
				}
			}
			if idx < 0 {
				return nil, fmt.Errorf("--targets: %q is no instance of %q", name, scenario)
			}
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--targets: %q: %w", addr, err)
		}
		if out[idx] != "" {
			return nil, fmt.Errorf("--targets: instance %q given twice", insts[idx].Name)
		}
		out[idx] = addr
	}
	return out, nil
}
