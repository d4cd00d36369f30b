package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/alert"
)

// newAlertsCmd talks to the running daemon's API: the daemon owns the
// alert state.
func newAlertsCmd(e env) *cobra.Command {
	api := &apiClient{environ: e.environ}
	root := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and silence alerts of a running daemon (through its API)",
	}
	api.flags(root)
	call := func(method, path string, body any, out any) error {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			rd = bytes.NewReader(b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := api.do(ctx, method, path, "application/json", rd)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if out != nil {
			return json.NewDecoder(resp.Body).Decode(out)
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
