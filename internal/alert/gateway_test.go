package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// txAckGateways is a Gateways that also reports downlink confirmations.
type txAckGateways struct {
	gateways
	acks map[string]TxAckHealth
}

func (g *txAckGateways) GatewaysTxAcks() map[string]TxAckHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]TxAckHealth{}
	for k, v := range g.acks {
		out[k] = v
	}
	return out
}

func (g *txAckGateways) set(id string, h TxAckHealth) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.acks[id] = h
	g.seen[id] = h.LastPullData
}

// A gateway that keeps polling but confirms none of its downlinks raises
// the gateway alert; a silent one is "offline", not this; a TX_ACK clears it.
func TestGatewayTxAcksStopWhilePolling(t *testing.T) {
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
			const polling, silent = "4c45534947570001", "4c45534947570002"
			gw := &txAckGateways{gateways: gateways{seen: map[string]time.Time{}}, acks: map[string]TxAckHealth{}}
			gw.set(polling, TxAckHealth{LastPullData: start})
			gw.set(silent, TxAckHealth{LastPullData: start.Add(-10 * time.Minute)})
			cfg := Config{Language: lang, RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}},
				DefaultReceivers: []string{"hook"}, Rules: []RuleConfig{{Name: "gw", Kind: KindGateway, OfflineAfter: 5 * time.Minute}}}
			h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.Gateways = gw })

			gw.set(polling, TxAckHealth{MissingRun: 2, LastPullData: start.Add(time.Minute)})
			h.tick(start.Add(time.Minute)) // below the default limit of 3
			gw.set(polling, TxAckHealth{MissingRun: 3, LastPullData: start.Add(2 * time.Minute)})
			gw.set(silent, TxAckHealth{MissingRun: 9, LastPullData: start.Add(-10 * time.Minute)})
			h.tick(start.Add(2 * time.Minute))
			h.tick(start.Add(4 * time.Minute))
			gw.set(polling, TxAckHealth{MissingRun: 0, LastPullData: start.Add(5 * time.Minute)})
			h.tick(start.Add(5 * time.Minute))
			h.drain()
			assert.Equal(t, []string{
				"firing info gw/" + silent,
				"firing info gw/" + polling + "/tx_ack",
				"resolved info gw/" + polling + "/tx_ack",
			}, h.hook.notes(), "a silent gateway is offline; its missing TX_ACKs are no second alert")
			notes := byReceiver(h.hook, "hook")
			require.Len(t, notes, 3)
			assert.Equal(t, "offline", notes[0].Labels["condition"])
			first := notes[1]
			require.Equal(t, "tx_ack_missing", first.Labels["condition"])
			want := map[string][2]string{
				"de": {"Gateway bestätigt keine Downlinks – Gateway " + polling, "Die letzten 3 Downlinks (Grenze 3) blieben ohne TX_ACK"},
				"en": {"Gateway confirms no downlinks – Gateway " + polling, "The last 3 downlinks (limit 3) got no TX_ACK"},
			}[lang]
			assert.Contains(t, first.Title, want[0])
			assert.Contains(t, first.Text, want[1])
		})
	}
}

func TestGatewayRuleRejectsNegativeMissingTxAcks(t *testing.T) {
	start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
	cfg := Config{Rules: []RuleConfig{{Name: "gw", Kind: KindGateway}}}
	h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.Gateways = &gateways{seen: map[string]time.Time{}} })
	cfg.Rules[0].MissingTxAcks = -1
	require.ErrorContains(t, h.e.CheckConfig(h.testConfig(cfg)), "missing_tx_acks must not be negative")
}
