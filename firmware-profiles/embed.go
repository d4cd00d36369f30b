// Package firmwareprofiles carries the shipped firmware profiles
// (<vendor>/<model>.yaml) inside the binary, so a gateway without a profile
// directory still knows every supported device.
package firmwareprofiles

import "embed"

// FS holds every <vendor>/<model>.yaml below this directory.
//
//go:embed */*.yaml
var FS embed.FS
