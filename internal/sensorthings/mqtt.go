package sensorthings

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/loraedge/loraedge/internal/backoff"
	"github.com/loraedge/loraedge/internal/mqttclient"
)

// transmit creates rows' observations over HTTP, or with mqtt_url set
// over MQTT: published with QoS 1, then read back until the server shows
// them or confirm_timeout passes. A PUBACK only says the broker has a
// message, not that the server stored it, so the cursor waits for the
// read-back; what does not show is sent over HTTP, which answers for each
// observation (so one the server refuses is counted, not retried forever).
func (s *Sink) transmit(ctx context.Context, rows []row) ([]row, error) {
	if s.cfg.MQTTURL == "" {
		return s.post(ctx, rows)
	}
	missing, err := s.publish(ctx, rows)
	if err != nil {
		s.log.Warn("sensorthings MQTT publish failed, sending over HTTP", "err", err.Error(), "observations", len(rows))
		s.dropMQTT()
		// Some may have gone out before the failure: send only what the
		// server lacks.
		if missing, err = s.missing(ctx, rows); err != nil {
			return nil, err
		}
	}
	s.m.delivered.Add(float64(len(rows) - len(missing)))
	if len(missing) == 0 {
		return nil, nil
	}
	s.m.unconfirmed.Add(float64(len(missing)))
	return s.post(ctx, missing)
}

// publish publishes rows and returns those the server does not show by
// ConfirmTimeout.
func (s *Sink) publish(ctx context.Context, rows []row) ([]row, error) {
	conn, err := s.mqttConn(ctx)
	if err != nil {
		return rows, err
	}
	toks := make([]paho.Token, len(rows))
	for i, r := range rows {
		body, err := json.Marshal(map[string]any{"phenomenonTime": r.m.Time.UTC().Format(timeLayout), "result": r.m.Value})
		if err != nil {
			return rows, fmt.Errorf("encode observation: %w", err)
		}
		toks[i] = conn.Client.Publish(fmt.Sprintf("v%s/Datastreams(%s)/Observations", s.cfg.Version, idString(r.ds)), 1, false, body)
	}
	for _, tok := range toks {
		if err := conn.Wait(ctx, tok, s.cfg.Timeout); err != nil {
			return rows, fmt.Errorf("publish: %w", err)
		}
	}
	s.m.published.Add(float64(len(rows)))
	deadline := time.Now().Add(s.cfg.ConfirmTimeout)
	wait := 20 * time.Millisecond
	for {
		missing, err := s.missing(ctx, rows)
		if err != nil || len(missing) == 0 || time.Now().After(deadline) {
			return missing, err
		}
		rows = missing
		if err := backoff.Sleep(ctx, min(wait, time.Until(deadline)+time.Millisecond)); err != nil {
			return rows, err
		}
		wait = min(2*wait, time.Second)
	}
}

// mqttConn returns the broker connection, connecting when there is none
// or the last one was lost.
func (s *Sink) mqttConn(ctx context.Context) (*mqttclient.Conn, error) {
	if s.mq != nil {
		select {
		case <-s.mq.Lost():
			s.dropMQTT()
		default:
			return s.mq, nil
		}
	}
	mc := mqttclient.Config{URL: s.cfg.MQTTURL, ClientID: "loraedge-sensorthings-" + s.opts.ClientID,
		Username: s.cfg.Username, Password: s.cfg.Password,
		TLS: mqttclient.TLSConfig{InsecureSkipVerify: s.cfg.TLSInsecureSkipVerify}, ConnectTimeout: s.cfg.Timeout}.WithDefaults()
	o, err := mc.ClientOptions()
	if err != nil {
		return nil, err
	}
	conn, err := mc.Connect(ctx, o, nil)
	if err != nil {
		return nil, err
	}
	s.mq = conn
	return conn, nil
}

func (s *Sink) dropMQTT() {
	if s.mq != nil {
		s.mq.Client.Disconnect(100)
		s.mq = nil
	}
}
