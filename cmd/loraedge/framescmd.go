package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/uplink"
)

// newFramesCmd shows a running daemon's frame log: where an installer
// looks when a sensor "does not show up".
func newFramesCmd(e env) *cobra.Command {
	api := &apiClient{environ: e.environ}
	var device, gateway string
	var follow, asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "frames [--device EUI] [--gateway ID] [--follow]",
		Short: "Show the last frames of a device or gateway with what became of each (through the daemon's API)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if device != "" {
				q.Set("device", device)
			}
			if gateway != "" {
				q.Set("gateway", gateway)
			}
			print := func(f uplink.FrameEvent) error {
				if asJSON {
					b, err := json.Marshal(f)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(e.stdout, "%s\n", b)
					return err
				}
				_, err := fmt.Fprintln(e.stdout, frameLine(f))
				return err
			}
			if follow {
				return followFrames(cmd.Context(), api, q, print)
			}
			q.Set("limit", strconv.Itoa(limit))
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			resp, err := api.do(ctx, "GET", "/api/v1/frames?"+q.Encode(), "", nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out struct{ Frames []uplink.FrameEvent }
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return fmt.Errorf("read frames: %w", err)
			}
			// Oldest first, as a log reads.
			for i := len(out.Frames) - 1; i >= 0; i-- {
				if err := print(out.Frames[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
	api.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&device, "device", "", "only this device (DevEUI)")
	f.StringVar(&gateway, "gateway", "", "only frames through this gateway (EUI)")
	f.BoolVar(&follow, "follow", false, "keep printing new frames as they come (server-sent events)")
	f.IntVar(&limit, "limit", 50, "the most frames shown (not with --follow)")
	f.BoolVar(&asJSON, "json", false, "one JSON object per frame")
	return cmd
}

// followFrames prints the frames of the daemon's event stream until ctx is
// done or the daemon closes it.
func followFrames(ctx context.Context, api *apiClient, q url.Values, print func(uplink.FrameEvent) error) error {
	resp, err := api.do(ctx, "GET", "/api/v1/frames/stream?"+q.Encode(), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var f uplink.FrameEvent
		if err := json.Unmarshal([]byte(data), &f); err != nil {
			return fmt.Errorf("frame stream: %w", err)
		}
		if err := print(f); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("frame stream: %w", err)
	}
	return nil
}

// frameLine is one frame on one line: time, direction, device, gateways
// with RSSI/SNR, radio, header, size, result and its reason.
func frameLine(f uplink.FrameEvent) string {
	var gws []string
	for _, g := range f.Gateways {
		if f.Direction == uplink.Up {
			gws = append(gws, fmt.Sprintf("%s(%ddBm/%sdB)", g.ID, g.RSSI, strconv.FormatFloat(g.SNR, 'f', -1, 64)))
		} else {
			gws = append(gws, g.ID)
		}
		if g.Peer != "" {
			gws[len(gws)-1] += "@" + g.Peer
		}
	}
	dev := f.DevEUI
	if dev == "" {
		dev = "?" + f.DevAddr
	}
	opt := func(p any) string {
		switch v := p.(type) {
		case *uint32:
			if v != nil {
				return strconv.FormatUint(uint64(*v), 10)
			}
		case *uint8:
			if v != nil {
				return strconv.Itoa(int(*v))
			}
		}
		return "-"
	}
	line := fmt.Sprintf("%s %-4s %-16s %s %s %sMHz fcnt=%s fport=%s %s %dB %s",
		f.Time.Format("2006-01-02T15:04:05.000Z07:00"), f.Direction, dev, strings.Join(gws, ","), f.DataRate,
		strconv.FormatFloat(float64(f.Frequency)/1e6, 'f', -1, 64), opt(f.FCnt), opt(f.FPort), f.MType, f.Size, f.Result)
	if f.Reason != "" {
		line += ": " + f.Reason
	}
	if f.TxAck != "" {
		line += " tx_ack=" + f.TxAck
	}
	return line
}
