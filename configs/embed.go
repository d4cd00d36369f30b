// Package configs carries the commented example configuration into the
// binary, for `loraedge configfile`.
package configs

import _ "embed"

// Example is configs/loraedge.yaml: every key with its default and a comment.
//
//go:embed loraedge.yaml
var Example []byte
