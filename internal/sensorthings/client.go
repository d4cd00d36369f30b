package sensorthings

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// httpError is a response other than 2xx.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// statusOf returns the HTTP status of err, 0 for a network error.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

// rejected reports whether err is the server refusing the request itself
// (so sending it again cannot help).
func rejected(err error) bool {
	s := statusOf(err)
	return s == http.StatusBadRequest || s == http.StatusUnprocessableEntity || s == http.StatusConflict
}

type client struct {
	cfg  Config
	http *http.Client
}

func newClient(cfg Config) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2
	if cfg.TLSInsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator's explicit choice
	}
	return &client{cfg: cfg, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
}

// do sends body (JSON, nil for none) to path below the service root (or to
// an absolute URL such as a nextLink on the server) and decodes a 2xx
// answer into out (unless nil).
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.cfg.root() + "/" + path
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %w", method, path, &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(b))})
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// entity is the part of an entity the sink reads back.
type entity struct {
	ID         json.RawMessage `json:"@iot.id"`
	Properties map[string]any  `json:"properties"`
}

// collection is one page of a collection.
type collection[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@iot.nextLink"`
}

// idString renders an @iot.id for a URL path: numbers as they are, strings
// quoted as OData wants them.
func idString(id json.RawMessage) string {
	s := string(id)
	if strings.HasPrefix(s, `"`) {
		var v string
		_ = json.Unmarshal(id, &v)
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return s
}

// quote renders a string literal for $filter.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// query builds path?$filter=f with the other options.
func query(path, filter string, opts ...string) string {
	v := url.Values{}
	v.Set("$filter", filter)
	for i := 0; i+1 < len(opts); i += 2 {
		v.Set(opts[i], opts[i+1])
	}
	return path + "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}
