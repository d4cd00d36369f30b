package testserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMosquittoStartsAndRestarts(t *testing.T) {
	m := StartMosquitto(t)
	require.NoError(t, dialTCP(m.Addr))
	m.Stop()
	require.Error(t, dialTCP(m.Addr), "stopped broker still accepts connections")
	m.Start()
	require.NoError(t, dialTCP(m.Addr))
}

// InfluxDB takes a line-protocol write on the v2 API and answers a Flux
// query over it: the two APIs loraedge uses.
func TestInfluxDBv2WriteAndFlux(t *testing.T) {
	db := StartInfluxDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := "air,device=a1 temperature=-1.5 1767225600000000000\n"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/api/v2/write?bucket="+db.Bucket+"&precision=ns", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "write answered: %s\ninfluxd log:\n%s", msg, db.Log())

	flux := `from(bucket: "loraedge/autogen") |> range(start: 2025-12-31T00:00:00Z, stop: 2026-01-02T00:00:00Z) |> filter(fn: (r) => r._measurement == "air")`
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/api/v2/query", bytes.NewBufferString(flux))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/vnd.flux")
	req.Header.Set("Accept", "application/csv")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	assert.Contains(t, string(out), "-1.5")
	assert.Contains(t, string(out), "a1")
}
