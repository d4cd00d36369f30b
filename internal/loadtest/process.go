package loadtest

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
)

// This file is the load test's child-process driver and device generator
// exported for other suites that run the built daemon (internal/soak):
// the same start, scrape and /proc code, with the daemon's log where the
// caller wants it (a data dir on a full filesystem cannot hold it) and a
// real SIGKILL.

// Device is one generated ABP road station (profile generic/road-station).
type Device struct {
	EUI     lorawan.EUI64
	Addr    lorawan.DevAddr
	NwkSKey lorawan.AES128Key
	AppSKey lorawan.AES128Key
}

// MakeDevices derives n devices with distinct addresses and keys from their
// index, as the load test does.
func MakeDevices(n int) []Device {
	sd := makeDevices(n)
	out := make([]Device, n)
	for i, d := range sd {
		out[i] = Device{EUI: d.EUI, Addr: d.Addr, NwkSKey: d.NwkSKey, AppSKey: d.AppSKey}
	}
	return out
}

// Uplink is a real unconfirmed data uplink of d with frame counter fcnt
// and a 12-byte road station payload on fPort 10 that varies with fcnt.
func (d Device) Uplink(fcnt uint32) ([]byte, error) {
	sd := simDevice{EUI: d.EUI, Addr: d.Addr, NwkSKey: d.NwkSKey, AppSKey: d.AppSKey}
	return abpUplink(&sd, fcnt)
}

// ConfirmedUplink is Uplink as a confirmed data uplink, which the daemon
// acknowledges once its measurements are stored.
func (d Device) ConfirmedUplink(fcnt uint32) ([]byte, error) {
	sd := simDevice{EUI: d.EUI, Addr: d.Addr, NwkSKey: d.NwkSKey, AppSKey: d.AppSKey}
	return abpUplinkOf(&sd, fcnt, lorawan.ConfirmedDataUp)
}

// RoadPayload is the plain payload Uplink encrypts for fcnt.
func RoadPayload(fcnt uint32) []byte { return roadPayload(fcnt) }

// WriteDaemonConfig writes a daemon configuration file listing devs (ABP,
// generic/road-station) with extra YAML added before the device list.
func WriteDaemonConfig(file string, devs []Device, extra string) error {
	sd := make([]simDevice, len(devs))
	for i, d := range devs {
		sd[i] = simDevice{EUI: d.EUI, Addr: d.Addr, NwkSKey: d.NwkSKey, AppSKey: d.AppSKey}
	}
	return writeConfig(file, sd, Options{Profile: "generic/road-station", ExtraConfig: extra})
}

// DaemonOptions configures StartDaemon.
type DaemonOptions struct {
	Binary     string
	ConfigFile string
	DataDir    string
	// LogFile receives the daemon's stdout and stderr (appended to, so a
	// restarted daemon's log follows the last one's).
	LogFile  string
	LogLevel string // "warn" when empty
	// StartTimeout bounds the wait for /metrics (30s).
	StartTimeout time.Duration
	// UDPPort and HTTPPort, when nonzero, are used instead of free ports
	// (a restarted daemon keeps its address, as a packet forwarder expects).
	UDPPort, HTTPPort int
}

// Daemon is a running loraedge child process.
type Daemon struct {
	c        *child
	UDPPort  int
	HTTPPort int
}

// StartDaemon starts the daemon binary and waits until its /metrics answers.
func StartDaemon(ctx context.Context, o DaemonOptions) (*Daemon, error) {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	c, err := launch(ctx, childSpec{Binary: o.Binary, ConfigFile: o.ConfigFile, DataDir: o.DataDir, LogLevel: o.LogLevel,
		LogFile: o.LogFile, UDPPort: o.UDPPort, HTTPPort: o.HTTPPort, StartTimeout: o.StartTimeout})
	if err != nil {
		return nil, err
	}
	return &Daemon{c: c, UDPPort: c.udp.Port, HTTPPort: c.httpPort}, nil
}

// UDPAddr is where packet forwarders send to.
func (d *Daemon) UDPAddr() *net.UDPAddr { return d.c.udp }

// PID is the child's process id.
func (d *Daemon) PID() int { return d.c.pid }

// Metrics scrapes /metrics: "name{labels}" -> value as the text format
// prints them.
func (d *Daemon) Metrics(ctx context.Context) (map[string]float64, error) {
	return d.c.metrics.scrape(ctx)
}

// Alive reports an error, with the end of the log, if the daemon exited.
func (d *Daemon) Alive() error { return d.c.alive() }

// Exited is closed when the process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.c.exited }

// Stop shuts the daemon down with SIGTERM (SIGKILL after 15 s) and reports
// an unclean exit.
func (d *Daemon) Stop() error { return d.c.stop() }

// Kill sends SIGKILL and waits for the process to be gone: a crash, not a
// shutdown.
func (d *Daemon) Kill() { d.c.kill() }

// LogTail is the end of the daemon's log.
func (d *Daemon) LogTail() string { return d.c.logTail() }

// RSS is the daemon's resident memory and its peak (VmRSS, VmHWM) in bytes.
func (d *Daemon) RSS() (rss, peak uint64, err error) {
	st, err := readProc(d.c.pid)
	return st.RSS, st.HWM, err
}

// MetricValue sums the metric name (with its labels as printed, e.g.
// `loraedge_network_uplinks_total{result="ok"}`) over a scrape; a name
// without labels also sums every labelled series of it.
func MetricValue(s map[string]float64, name string) float64 {
	if v, ok := s[name]; ok || strings.Contains(name, "{") {
		return v
	}
	var sum float64
	for k, v := range s {
		if strings.HasPrefix(k, name+"{") {
			sum += v
		}
	}
	return sum
}

// UDPDrops is the kernel's count of datagrams dropped at the daemon's UDP
// socket (receive buffer full): what it never saw.
func (d *Daemon) UDPDrops() (uint64, error) { return udpDrops(d.UDPPort) }
