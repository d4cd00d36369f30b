package sensorthings

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// timeLayout writes phenomenonTime in milliseconds, the precision common
// servers (FROST on PostgreSQL) keep; dedupe compares at the same.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// block is one Datastream's part of a CreateObservations request.
type block struct {
	Datastream link     `json:"Datastream"`
	Components []string `json:"components"`
	Count      int      `json:"dataArray@iot.count"`
	DataArray  [][]any  `json:"dataArray"`
}

// send creates rows' observations, retrying until each is created or
// refused, or ctx is done, and returns the refused ones. A request the
// server refuses as a whole is split in two until the refused observations
// are alone.
func (s *Sink) send(ctx context.Context, rows []row) ([]row, error) {
	for attempt := 0; ; attempt++ {
		if s.suspect {
			kept, err := s.dedupe(ctx, rows)
			if err != nil {
				if err := s.wait(ctx, attempt, "check observations on the server", err); err != nil {
					return nil, err
				}
				continue
			}
			s.suspect = false
			rows = kept
		}
		if len(rows) == 0 {
			return nil, nil
		}
		refused, err := s.transmit(ctx, rows)
		if err == nil {
			return refused, nil
		}
		if rejected(err) {
			if len(rows) == 1 {
				s.log.Debug("sensorthings observation refused", "err", err.Error())
				return rows, nil
			}
			s.m.bisections.Inc()
			h := len(rows) / 2
			a, err := s.send(ctx, rows[:h])
			if err != nil {
				return nil, err
			}
			b, err := s.send(ctx, rows[h:])
			return append(a, b...), err
		}
		if err := s.wait(ctx, attempt, "create observations", err); err != nil {
			return nil, err
		}
	}
}

// post sends one CreateObservations request and books its answer: one
// entry per observation, its selfLink or "error". It returns the rows
// answered with "error".
func (s *Sink) post(ctx context.Context, rows []row) ([]row, error) {
	var blocks []*block
	byDS := map[string]*block{}
	var order []int // row index per answer entry
	for _, r := range rows {
		b := byDS[string(r.ds)]
		if b == nil {
			b = &block{Datastream: link{ID: r.ds}, Components: []string{"phenomenonTime", "result"}}
			byDS[string(r.ds)] = b
			blocks = append(blocks, b)
		}
		b.DataArray = append(b.DataArray, []any{r.m.Time.UTC().Format(timeLayout), r.m.Value})
		b.Count++
	}
	for _, b := range blocks {
		for i, r := range rows {
			if string(r.ds) == string(b.Datastream.ID) {
				order = append(order, i)
			}
		}
	}
	var answer []string
	start := time.Now()
	err := s.c.do(ctx, "POST", "CreateObservations", blocks, &answer)
	s.m.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	if len(answer) != len(rows) {
		return nil, fmt.Errorf("CreateObservations: %d answers for %d observations", len(answer), len(rows))
	}
	var refused []row
	for i, a := range answer {
		if a == "error" || a == "" {
			refused = append(refused, rows[order[i]])
		}
	}
	s.m.delivered.Add(float64(len(rows) - len(refused)))
	return refused, nil
}

// dedupe leaves out the rows whose observation the server already has:
// one query per Datastream for the time span of its rows. It is the
// check-before-resend that makes a replay after a crash or a lost answer
// create no duplicates with any server: deterministic ids would need the
// server to accept client-generated ids, which SensorThings 1.0 servers
// and FROST's default configuration do not.
func (s *Sink) dedupe(ctx context.Context, rows []row) ([]row, error) {
	kept, err := s.missing(ctx, rows)
	if err != nil {
		return nil, err
	}
	if n := len(rows) - len(kept); n > 0 {
		s.m.skipped.Add(float64(n))
		s.log.Info("sensorthings observations already on the server, not sent again", "observations", n)
	}
	return kept, nil
}

// missing returns the rows whose observation the server does not have.
func (s *Sink) missing(ctx context.Context, rows []row) ([]row, error) {
	type span struct{ from, to time.Time }
	spans := map[string]*span{}
	var dsOrder []string
	for _, r := range rows {
		k := string(r.ds)
		sp := spans[k]
		if sp == nil {
			spans[k] = &span{r.m.Time, r.m.Time}
			dsOrder = append(dsOrder, k)
			continue
		}
		if r.m.Time.Before(sp.from) {
			sp.from = r.m.Time
		}
		if r.m.Time.After(sp.to) {
			sp.to = r.m.Time
		}
	}
	have := map[string]map[int64]bool{}
	for _, k := range dsOrder {
		sp := spans[k]
		filter := "phenomenonTime ge " + sp.from.UTC().Truncate(time.Millisecond).Format(timeLayout) +
			" and phenomenonTime le " + sp.to.UTC().Format(timeLayout)
		next := query("Datastreams("+idString(json.RawMessage(k))+")/Observations", filter,
			"$select", "phenomenonTime", "$top", "1000")
		have[k] = map[int64]bool{}
		for next != "" {
			var page collection[struct {
				PhenomenonTime string `json:"phenomenonTime"`
			}]
			if err := s.c.do(ctx, "GET", next, nil, &page); err != nil {
				return nil, err
			}
			for _, o := range page.Value {
				start, _, _ := strings.Cut(o.PhenomenonTime, "/")
				if t, err := time.Parse(time.RFC3339Nano, start); err == nil {
					have[k][t.UnixMilli()] = true
				}
			}
			next = page.NextLink
		}
	}
	kept := rows[:0:0]
	for _, r := range rows {
		if !have[string(r.ds)][r.m.Time.UnixMilli()] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}
