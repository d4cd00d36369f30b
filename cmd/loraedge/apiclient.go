package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
)

// apiClient is how the commands that talk to a running daemon (alerts,
// frames, devices import) reach its API.
type apiClient struct {
	url, token string
	environ    []string
	// client has no overall timeout: a stream (frames --follow) lasts;
	// requests carry a context instead.
	client *http.Client
}

// flags registers --url and --token on cmd.
func (c *apiClient) flags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&c.url, "url", "http://127.0.0.1:8080", "the daemon's HTTP address")
	cmd.PersistentFlags().StringVar(&c.token, "token", "", "API token (default $LORAEDGE_HTTP_ADMIN_TOKEN, then $LORAEDGE_HTTP_READ_TOKEN)")
}

// do sends one request and returns the response of a 2xx answer; any other
// answer is an error with the API's message.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	tok := c.token
	for _, name := range []string{"HTTP_ADMIN_TOKEN", "HTTP_READ_TOKEN"} {
		if tok == "" {
			tok = lookupEnv(c.environ, config.EnvPrefix+name)
		}
	}
	if tok == "" {
		return nil, fmt.Errorf("--token: required (or %sHTTP_ADMIN_TOKEN)", config.EnvPrefix)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	cl := c.client
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the daemon running with http.listen set? %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error    struct{ Message string }
		Problems []device.Problem
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		if len(e.Problems) > 0 {
			return nil, &problemsError{msg: resp.Status + ": " + e.Error.Message, problems: e.Problems}
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, e.Error.Message)
	}
	return nil, fmt.Errorf("%s", resp.Status)
}

// problemsError is an API answer that lists problems with their lines (a
// device import).
type problemsError struct {
	msg      string
	problems []device.Problem
}

func (e *problemsError) Error() string { return e.msg }
