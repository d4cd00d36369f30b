// Package webtest checks what people look at: the embedded web page of
// internal/httpapi, driven in a real headless Chromium (chromedp) against a
// real API server with a real store, device registry and GWMP server, and
// the Grafana dashboard in deploy/grafana, whose queries run on an InfluxDB
// 1.8 filled by the real sink. It has no code of its own; the tests are the
// point. Run with `go test ./internal/webtest/`; a missing
// chromium skips locally and fails in CI (CI=true). Screenshots go to
// $LORAEDGE_ARTIFACTS (or a temporary directory).
package webtest
