// Package webtest drives the embedded web page of internal/httpapi in a
// real headless Chromium (chromedp) against a real API server with a real
// store, device registry and GWMP server. It has no code of its own; the
// tests are the point. Run with `go test ./internal/webtest/`; a missing
// chromium skips locally and fails in CI (CI=true). Screenshots go to
// $LORAEDGE_ARTIFACTS (or a temporary directory) and, when /tmp/le exists,
// to /tmp/le/screens.
package webtest
