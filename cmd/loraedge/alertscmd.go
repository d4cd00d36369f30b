package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/config"
)

// newAlertsCmd talks to the running daemon's API: the daemon owns the
// alert state.
func newAlertsCmd(e env) *cobra.Command {
	var apiURL, token string
	root := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and silence alerts of a running daemon (through its API)",
	}
	root.PersistentFlags().StringVar(&apiURL, "url", "http://127.0.0.1:8080", "the daemon's HTTP address")
	root.PersistentFlags().StringVar(&token, "token", "", "API token (default $LORAEDGE_HTTP_ADMIN_TOKEN, then $LORAEDGE_HTTP_READ_TOKEN)")
	call := func(method, path string, body any, out any) error {
		tok := token
		for _, name := range []string{"HTTP_ADMIN_TOKEN", "HTTP_READ_TOKEN"} {
			if tok == "" {
				tok = lookupEnv(e.environ, config.EnvPrefix+name)
			}
		}
		if tok == "" {
			return fmt.Errorf("--token: required (or %sHTTP_ADMIN_TOKEN)", config.EnvPrefix)
		}
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, strings.TrimRight(apiURL, "/")+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return fmt.Errorf("is the daemon running with http.listen set? %w", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			var e struct{ Error struct{ Message string } }
			if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
				return fmt.Errorf("%s: %s", resp.Status, e.Error.Message)
			}
			return fmt.Errorf("%s", resp.Status)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}

	var state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List alerts (default: the active ones)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var out struct{ Alerts []alert.Alert }
			if err := call("GET", "/api/v1/alerts?state="+url.QueryEscape(state), nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tLEVEL\tSINCE\tACK")
			for _, a := range out.Alerts {
				ack := ""
				if a.AckBy != "" {
					ack = a.AckBy + " " + a.AckAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Level, a.ActiveSince.Format(time.RFC3339), ack)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&state, "state", "active", "active, pending, firing, acknowledged, resolved, or empty for all")

	ack := &cobra.Command{
		Use:   "ack ID --by NAME",
		Short: "Acknowledge an alert: repeats and escalation stop",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			by, _ := cmd.Flags().GetString("by")
			if err := call("POST", "/api/v1/alerts/"+url.PathEscape(args[0])+"/ack", map[string]string{"by": by}, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(e.stdout, "%s acknowledged by %s\n", args[0], by)
			return err
		},
	}
	ack.Flags().String("by", "", "who acknowledges (name or duty phone)")
	_ = ack.MarkFlagRequired("by")

	var (
		matchers []string
		dur      time.Duration
		comment  string
	)
	silence := &cobra.Command{
		Use:   "silence --match label=value... --for 4h --comment TEXT",
		Short: "Silence matching alerts for a while (e.g. maintenance at a site)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var ms []alert.Matcher
			for _, m := range matchers {
				l, v, ok := strings.Cut(m, "=")
				if !ok || l == "" {
					return fmt.Errorf("--match %q: want label=value, e.g. site=k23-bridge", m)
				}
				ms = append(ms, alert.Matcher{Label: l, Value: v})
			}
			if len(ms) == 0 || dur <= 0 {
				return fmt.Errorf("--match and a positive --for are required")
			}
			var out alert.Silence
			body := map[string]any{"matchers": ms, "duration": dur.String(), "comment": comment}
			if err := call("POST", "/api/v1/silences", body, &out); err != nil {
				return err
			}
			_, err := fmt.Fprintf(e.stdout, "silence %s until %s\n", out.ID, out.EndsAt.Format(time.RFC3339))
			return err
		},
	}
	silence.Flags().StringSliceVar(&matchers, "match", nil, "label=value, repeatable (site, rule, device, route, ...)")
	silence.Flags().DurationVar(&dur, "for", 0, "how long, e.g. 4h")
	silence.Flags().StringVar(&comment, "comment", "", "why (shown with the silence)")

	root.AddCommand(list, ack, silence)
	return root
}
