package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/inputerr"
)

// decodeOutput is the JSON `loraedge decode` prints.
type decodeOutput struct {
	Profile      string              `json:"profile"`
	Measurements []decodeMeasurement `json:"measurements"`
	Fields       map[string]any      `json:"fields"`
	Warnings     []string            `json:"warnings"`
}

type decodeMeasurement struct {
	Quantity string  `json:"quantity"`
	Channel  int     `json:"channel,omitempty"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// Time is set only when the payload itself dates the value.
	Time *time.Time `json:"time,omitempty"`
}

func newDecodeCmd(e env) *cobra.Command {
	var (
		profileID, hexPayload, profilesDir string
		fport                              uint8
	)
	cmd := &cobra.Command{
		Use:   "decode --profile ID --fport N --hex HEX",
		Short: "Decode one payload with a firmware profile and print JSON",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexPayload), " ", ""))
			if err != nil {
				// The decoder's own text names its package; say what is wanted.
				return fmt.Errorf("--hex: expected pairs of hex digits (0-9, a-f, spaces allowed), got %s", inputerr.Quote(hexPayload))
			}
			cfg := config.Default()
			cfg.Profiles.Dir = profilesDir
			set, err := loadProfiles(cfg)
			if err != nil {
				return err
			}
			// A fixed receive time marks the values the payload does not
			// date: they get no time in the output.
			recv := time.Unix(0, 0).UTC()
			ms, res, err := set.Decode(profileID, codec.Input{FPort: fport, Bytes: b, RecvTime: recv}, "")
			if err != nil {
				return fmt.Errorf("decode with profile %s: %w", profileID, err)
			}
			out := decodeOutput{Profile: profileID, Measurements: []decodeMeasurement{}, Fields: res.Fields, Warnings: res.Warnings}
			if out.Warnings == nil {
				out.Warnings = []string{}
			}
			for _, m := range ms {
				dm := decodeMeasurement{Quantity: string(m.Quantity), Channel: m.Channel, Value: m.Value, Unit: m.Unit}
				if !m.Time.Equal(recv) {
					t := m.Time
					dm.Time = &t
				}
				out.Measurements = append(out.Measurements, dm)
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&profileID, "profile", "", "firmware profile id, e.g. elsys/ers-co2")
	f.Uint8Var(&fport, "fport", 1, "LoRaWAN FPort of the payload")
	f.StringVar(&hexPayload, "hex", "", "payload as hex")
	f.StringVar(&profilesDir, "profiles-dir", "", "extra firmware profile directory")
	for _, req := range []string{"profile", "hex"} {
		if err := cmd.MarkFlagRequired(req); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return cmd
}

var errNoScenario = errors.New("unknown scenario")
