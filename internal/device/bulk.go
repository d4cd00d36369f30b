package device

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/inputerr"
)

// Problem is one thing wrong in a device import, with the line of the CSV
// file (1 is the header) or the index of the JSON list, so an operator can
// fix every line in one go.
type Problem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Message)
}

// Entry is one device of an import and where it stood.
type Entry struct {
	Line   int
	Device Device
}

// CSVColumns are the columns devices are exported with, in order; an
// import takes any subset in any order (dev_eui and activation required).
// The keys are write-only: an export leaves them out.
var CSVColumns = []string{"dev_eui", "name", "activation", "class", "mac_version", "profile", "site", "tags",
	"join_eui", "app_key", "dev_addr", "nwk_s_key", "app_s_key", "skip_fcnt_check"}

// keyColumns are never exported.
var keyColumns = map[string]bool{"app_key": true, "nwk_s_key": true, "app_s_key": true}

// fieldByKey maps a column to the Device field with that mapstructure key.
var fieldByKey = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Device]()
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("mapstructure"); k != "" {
			m[k] = i
		}
	}
	return m
}()

// ParseCSV reads devices from a CSV file with a header line of column
// names; tags are separated by ";". Every problem of every line is
// reported, each with its line; a line with a problem yields no entry.
// The error is reading r's (such as a size limit), not the content's.
func ParseCSV(r io.Reader) ([]Entry, []Problem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF) || errors.As(err, &pe):
		return nil, []Problem{{Line: 1, Message: "expected a header line of column names"}}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	var probs []Problem
	cols := make([]int, len(head))
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		f, ok := fieldByKey[h]
		if !ok {
			probs = append(probs, Problem{Line: 1, Field: h, Message: "no such column" + inputerr.Suggest(h, CSVColumns, "")})
		}
		cols[i] = f
		head[i] = h
	}
	if len(probs) > 0 {
		return nil, probs, nil
	}
	var out []Entry
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("read csv: %w", err)
			}
			probs = append(probs, Problem{Line: pe.Line, Message: pe.Err.Error()})
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // an empty line
		}
		if len(rec) != len(head) {
			probs = append(probs, Problem{Line: line, Message: fmt.Sprintf("%d values for %d columns", len(rec), len(head))})
			continue
		}
		var d Device
		lineProbs := len(probs)
		for i, v := range rec {
			if err := setField(&d, cols[i], strings.TrimSpace(v)); err != nil {
				probs = append(probs, Problem{Line: line, Field: head[i], Message: err.Error()})
			}
		}
		if len(probs) == lineProbs {
			out = append(out, Entry{Line: line, Device: d})
		}
	}
	return out, probs, nil
}

// setField parses one CSV value into field i of d; an empty value leaves
// the field at its zero.
func setField(d *Device, i int, s string) error {
	if s == "" {
		return nil
	}
	f := reflect.ValueOf(d).Elem().Field(i)
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("expected true or false, got %s", inputerr.Quote(s))
		}
		f.SetBool(b)
	case reflect.Slice:
		var tags []string
		for _, t := range strings.Split(s, ";") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
		f.Set(reflect.ValueOf(tags))
	default:
		v, err := inputerr.Text(f.Type(), s)
		if err != nil {
			return err
		}
		f.Set(v)
	}
	return nil
}

// ParseJSON reads devices from a JSON list of device objects (the API's
// fields, keys included), or an object {"devices": [...]}. Line is the
// index in the list, from 1. The error is reading r's.
func ParseJSON(r io.Reader) ([]Entry, []Problem, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read json: %w", err)
	}
	var raw json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, []Problem{{Line: 1, Message: "expected a JSON list of devices: " + err.Error()}}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		var wrapped struct {
			Devices []json.RawMessage `json:"devices"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil || wrapped.Devices == nil {
			return nil, []Problem{{Line: 1, Message: "expected a JSON list of devices, or an object with \"devices\""}}, nil
		}
		list = wrapped.Devices
	}
	var out []Entry
	var probs []Problem
	for i, item := range list {
		var in jsonDevice
		if err := inputerr.JSON(bytes.NewReader(item), &in); err != nil {
			for _, e := range flattenErrs(err) {
				probs = append(probs, Problem{Line: i + 1, Message: e.Error()})
			}
			continue
		}
		out = append(out, Entry{Line: i + 1, Device: in.device()})
	}
	return out, probs, nil
}

// jsonDevice is a device as an import writes it in JSON: the API's
// fields, keys included (they are write-only, never read back).
type jsonDevice struct {
	DevEUI        lorawan.EUI64     `json:"dev_eui"`
	Name          string            `json:"name"`
	Activation    Activation        `json:"activation"`
	Class         Class             `json:"class"`
	MACVersion    string            `json:"mac_version"`
	Profile       string            `json:"profile"`
	Site          string            `json:"site"`
	Tags          []string          `json:"tags"`
	JoinEUI       lorawan.EUI64     `json:"join_eui"`
	AppKey        lorawan.AES128Key `json:"app_key"`
	DevAddr       lorawan.DevAddr   `json:"dev_addr"`
	NwkSKey       lorawan.AES128Key `json:"nwk_s_key"`
	AppSKey       lorawan.AES128Key `json:"app_s_key"`
	SkipFCntCheck bool              `json:"skip_fcnt_check"`
}

// device converts j; the two differ only in their JSON tags (a Device
// never writes its keys).
func (j jsonDevice) device() Device { return Device(j) }

func flattenErrs(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Check reports the problems of an import that no single value shows:
// each device's own checks, a DevEUI twice in the file, and whatever
// extra (profile and site existence, devices of the configuration file)
// reports for a device.
func Check(entries []Entry, extra func(Device) []Problem) []Problem {
	var probs []Problem
	first := map[lorawan.EUI64]int{}
	for _, e := range entries {
		for _, err := range flattenErrs(e.Device.Validate()) {
			if err != nil {
				field, msg, _ := strings.Cut(err.Error(), ": ")
				probs = append(probs, Problem{Line: e.Line, Field: field, Message: msg})
			}
		}
		if l, ok := first[e.Device.DevEUI]; ok {
			probs = append(probs, Problem{Line: e.Line, Field: "dev_eui", Message: fmt.Sprintf("%s is already on line %d", e.Device.DevEUI, l)})
		} else {
			first[e.Device.DevEUI] = e.Line
		}
		if extra != nil {
			for _, p := range extra(e.Device) {
				p.Line = e.Line
				probs = append(probs, p)
			}
		}
	}
	return probs
}

// WriteCSV writes devs with CSVColumns less the keys, which stay
// write-only.
func WriteCSV(w io.Writer, devs []Device) error {
	var cols []string
	for _, c := range CSVColumns {
		if !keyColumns[c] {
			cols = append(cols, c)
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return err
	}
	for _, d := range devs {
		v := reflect.ValueOf(d)
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = csvValue(v.Field(fieldByKey[c]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvValue(f reflect.Value) string {
	switch f.Kind() {
	case reflect.String:
		return f.String()
	case reflect.Bool:
		if f.Bool() {
			return "true"
		}
		return ""
	case reflect.Slice:
		return strings.Join(f.Interface().([]string), ";")
	}
	if f.IsZero() {
		return ""
	}
	if m, ok := f.Interface().(interface{ MarshalText() ([]byte, error) }); ok {
		b, err := m.MarshalText()
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(f.Interface())
}
