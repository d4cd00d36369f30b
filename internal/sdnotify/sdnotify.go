// Package sdnotify tells systemd about the daemon's state (sd_notify(3)):
// READY=1 once the store is open and the UDP port bound, STOPPING=1 on
// shutdown, and WATCHDOG=1 keep-alives when the unit sets WatchdogSec.
// Without $NOTIFY_SOCKET (not under systemd, e.g. OpenWrt's procd) every
// call does nothing.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends state to systemd.
type Notifier struct {
	socket string
}

// New reads $NOTIFY_SOCKET.
func New() *Notifier { return &Notifier{socket: os.Getenv("NOTIFY_SOCKET")} }

// Enabled reports whether systemd listens.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// Send sends one state string such as "READY=1".
func (n *Notifier) Send(state string) error {
	if n.socket == "" {
		return nil
	}
	name := n.socket
	if name[0] == '@' { // abstract namespace
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Ready says the service is up.
func (n *Notifier) Ready() error { return n.Send("READY=1") }

// Stopping says the service is shutting down.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Reloading says a SIGHUP reload began; Ready ends it.
func (n *Notifier) Reloading() error { return n.Send("RELOADING=1") }

// Watchdog sends WATCHDOG=1 at half the interval systemd asks for
// ($WATCHDOG_USEC) while healthy() holds, until ctx is done. A daemon that
// hangs stops sending and systemd restarts it.
func (n *Notifier) Watchdog(ctx context.Context, healthy func() error) error {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if n.socket == "" || err != nil || usec <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Duration(usec) * time.Microsecond / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if healthy() == nil {
				_ = n.Send("WATCHDOG=1")
			}
		}
	}
}
