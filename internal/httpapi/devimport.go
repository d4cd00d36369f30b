package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/profile"
)

// DeviceImporter adds many devices at once, all or none; the device
// registry has it.
type DeviceImporter interface {
	AddAll([]device.Device) error
}

// importBodyLimit is the body limit of a device import: 20,000 devices of
// CSV with keys fit.
const importBodyLimit = 8 << 20

// bodyLimits are the routes whose bodies may exceed Options.MaxBodyBytes.
var bodyLimits = map[string]int64{"POST /api/v1/devices:import": importBodyLimit}

// importAnswer is the answer to an import or a dry run.
type importAnswer struct {
	DryRun   bool             `json:"dry_run"`
	Devices  int              `json:"devices"`
	Imported int              `json:"imported"`
	Problems []device.Problem `json:"problems"`
}

// importDevices answers POST /api/v1/devices:import: a CSV (text/csv) or
// JSON list of devices, added or replaced all together or not at all. With
// ?dry_run=true nothing changes; either way every problem is listed with
// its line.
func (s *Server) importDevices(w http.ResponseWriter, r *http.Request) error {
	imp, ok := s.opts.Devices.(DeviceImporter)
	if s.opts.Devices == nil || !ok {
		return errNotConfigured
	}
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("dry_run: expected true or false, got "+inputerr.Quote(v), err)
		}
		dry = b
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var entries []device.Entry
	var probs []device.Problem
	var err error
	switch ct {
	case "text/csv":
		entries, probs, err = device.ParseCSV(r.Body)
	case "application/json", "":
		entries, probs, err = device.ParseJSON(r.Body)
	default:
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send text/csv or application/json, not " + inputerr.Quote(ct)}
	}
	if err != nil {
		return err // a body over the limit is answered 413
	}
	probs = append(probs, device.Check(entries, s.importChecks())...)
	ans := importAnswer{DryRun: dry, Devices: len(entries), Problems: probs}
	if ans.Problems == nil {
		ans.Problems = []device.Problem{}
	}
	if len(probs) > 0 {
		msg := fmt.Sprintf("%d problems; nothing was imported", len(probs))
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": map[string]string{"code": "invalid_import", "message": msg}, "dry_run": dry, "devices": len(entries), "problems": probs})
		return nil
	}
	if !dry {
		devs := make([]device.Device, len(entries))
		for i, e := range entries {
			devs[i] = e.Device
		}
		if err := imp.AddAll(devs); err != nil {
			return fmt.Errorf("import devices: %w", err)
		}
		ans.Imported = len(devs)
		s.log.Info("devices imported", "devices", len(devs))
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// importChecks are the checks of an imported device against this daemon:
// its firmware profile and site exist, and the configuration file does
// not list it.
func (s *Server) importChecks() func(device.Device) []device.Problem {
	sites := map[string]bool{}
	var siteIDs []string
	if s.opts.Sites != nil {
		for _, st := range s.opts.Sites.Sites() {
			sites[st.ID] = true
			siteIDs = append(siteIDs, st.ID)
		}
	}
	return func(d device.Device) []device.Problem {
		var out []device.Problem
		add := func(field, msg string) { out = append(out, device.Problem{Field: field, Message: msg}) }
		if s.opts.Devices.Managed(d.DevEUI) {
			add("dev_eui", d.DevEUI.String()+" is listed in the configuration file; change it there")
		}
		if d.Profile != "" && s.opts.Downlinks != nil {
			if _, err := s.opts.Downlinks.Downlink(d.Profile, "\x00", nil); errors.Is(err, profile.ErrUnknownProfile) {
				add("profile", err.Error())
			}
		}
		if d.Site != "" && !sites[d.Site] {
			add("site", "unknown site "+strconv.Quote(d.Site)+inputerr.Suggest(d.Site, siteIDs, ""))
		}
		return out
	}
}
