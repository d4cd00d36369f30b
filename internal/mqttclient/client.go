package mqttclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ErrConnLost is returned by Conn.Wait when the connection broke first.
var ErrConnLost = errors.New("connection lost")

// ClientOptions are the paho options the sink and the source share:
// broker, identity, credentials, TLS, keepalive, persistent session and a
// memory store. Reconnecting is left to Reconnect: paho's own would keep a
// client, and what it held for the broken connection, alive.
func (c Config) ClientOptions() (*paho.ClientOptions, error) {
	tc, err := c.TLS.Build()
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(c.URL).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(false).
		SetKeepAlive(c.KeepAlive).
		SetPingTimeout(c.KeepAlive/2 + time.Second).
		SetConnectTimeout(c.ConnectTimeout).
		SetWriteTimeout(c.ConnectTimeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetStore(paho.NewMemoryStore())
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	return o, nil
}

// Conn is one paho client for one broker connection: a lost connection
// gets a new Conn, so nothing paho kept for the old one (in-flight ids,
// its store) outlives it.
type Conn struct {
	Client paho.Client

	lost  chan struct{}
	once  sync.Once
	cause error // set before lost is closed
}

// Lost is closed when the connection breaks.
func (c *Conn) Lost() <-chan struct{} { return c.lost }

// Cause is paho's reason for the loss; it is set once Lost is closed.
func (c *Conn) Cause() error {
	select {
	case <-c.lost:
		return c.cause
	default:
		return nil
	}
}

func (c *Conn) markLost(err error) {
	c.once.Do(func() {
		c.cause = err
		close(c.lost)
	})
}

// Wait waits for tok, the loss of the connection (ErrConnLost), ctx or the
// timeout, whichever comes first.
func (c *Conn) Wait(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-c.lost:
		return ErrConnLost
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("timeout")
	}
}

// Connect makes a client from o (from ClientOptions, with the caller's
// will and handlers added) and connects it. It takes over o's
// connection-lost handler: onLost, if not nil, is called on paho's
// goroutine when the connection breaks, before Lost is closed.
func (c Config) Connect(ctx context.Context, o *paho.ClientOptions, onLost func(error)) (*Conn, error) {
	cn := &Conn{lost: make(chan struct{})}
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		if onLost != nil {
			onLost(err)
		}
		cn.markLost(err)
	})
	cn.Client = paho.NewClient(o)
	// One second more than paho's own connect timeout, so that its error,
	// which says more, comes first.
	if err := cn.Wait(ctx, cn.Client.Connect(), c.ConnectTimeout+time.Second); err != nil {
		cn.Client.Disconnect(0)
		return nil, fmt.Errorf("connect %s: %w", c.URL, err)
	}
	return cn, nil
}

// permanentError marks an error that reconnecting cannot cure.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that reconnecting cannot cure: Reconnect
// stops and returns it.
func Permanent(err error) error { return permanentError{err} }

// Reconnect runs session after session until ctx is done, waiting between
// them with an exponential backoff from c.BackoffMin to c.BackoffMax; a
// session that lasted longer than BackoffMax starts the backoff over. Each
// failed session is logged at warn as failMsg with err and retry_in. It
// returns nil when ctx is done, or the error of a session that failed with
// a Permanent error.
func Reconnect(ctx context.Context, c Config, log *slog.Logger, failMsg string, session func(context.Context) error) error {
	backoff := c.BackoffMin
	for {
		began := time.Now()
		err := session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return p.err
		}
		if time.Since(began) > c.BackoffMax {
			backoff = c.BackoffMin // a long healthy session: start over
		}
		log.Warn(failMsg, "err", err, "retry_in", backoff.String())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, c.BackoffMax)
	}
}
