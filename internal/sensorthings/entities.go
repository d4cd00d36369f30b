package sensorthings

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/loraedge/loraedge/internal/measurement"
)

// keyProperty is the property under which every entity loraedge creates
// carries its stable key: a restart or a second gateway finds the entity
// instead of creating another.
const keyProperty = "loraedgeKey"

// link is a reference to an entity by id, as SensorThings writes it.
type link struct {
	ID json.RawMessage `json:"@iot.id"`
}

// thingState is what the resolver knows of a device's Thing.
type thingState struct {
	id      json.RawMessage
	site    string
	profile string
}

// resolver finds or creates the entities observations hang on. Only the
// sink's goroutine uses it.
type resolver struct {
	c       *client
	version string
	devices func(devEUI string) (Device, bool)
	places  func(id string) (Place, bool)
	onNew   func(kind string)

	things      map[string]*thingState
	locations   map[string]json.RawMessage
	sensors     map[string]json.RawMessage
	props       map[measurement.Quantity]json.RawMessage
	datastreams map[string]json.RawMessage
}

func newResolver(c *client, version string, devices func(string) (Device, bool), places func(string) (Place, bool), onNew func(string)) *resolver {
	return &resolver{c: c, version: version, devices: devices, places: places, onNew: onNew,
		things: map[string]*thingState{}, locations: map[string]json.RawMessage{}, sensors: map[string]json.RawMessage{},
		props: map[measurement.Quantity]json.RawMessage{}, datastreams: map[string]json.RawMessage{}}
}

// reset drops every cached id, for entities deleted on the server.
func (r *resolver) reset() {
	r.things = map[string]*thingState{}
	r.locations = map[string]json.RawMessage{}
	r.sensors = map[string]json.RawMessage{}
	r.props = map[measurement.Quantity]json.RawMessage{}
	r.datastreams = map[string]json.RawMessage{}
}

// find looks an entity up by its key: the key property where the entity
// has properties (every entity in 1.1, Things in 1.0), else the field
// given (name or definition), which loraedge fills deterministically.
func (r *resolver) find(ctx context.Context, coll, key, field, value string) (json.RawMessage, map[string]any, error) {
	filter := "properties/" + keyProperty + " eq " + quote(key)
	if r.version == "1.0" && coll != "Things" {
		filter = field + " eq " + quote(value)
	}
	var page collection[entity]
	if err := r.c.do(ctx, "GET", query(coll, filter, "$top", "2"), nil, &page); err != nil {
		return nil, nil, fmt.Errorf("look up %s %s: %w", coll, key, err)
	}
	if len(page.Value) == 0 {
		return nil, nil, nil
	}
	return page.Value[0].ID, page.Value[0].Properties, nil
}

// ensure finds an entity or creates it from body.
func (r *resolver) ensure(ctx context.Context, coll, key, field string, body map[string]any) (json.RawMessage, error) {
	value, _ := body[field].(string)
	id, _, err := r.find(ctx, coll, key, field, value)
	if err != nil || id != nil {
		return id, err
	}
	if r.version == "1.1" {
		props, _ := body["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		props[keyProperty] = key
		body["properties"] = props
	}
	var created entity
	if err := r.c.do(ctx, "POST", coll, body, &created); err != nil {
		return nil, fmt.Errorf("create %s %s: %w", coll, key, err)
	}
	if created.ID == nil {
		return nil, fmt.Errorf("create %s %s: answer without @iot.id", coll, key)
	}
	r.onNew(coll)
	return created.ID, nil
}

func (r *resolver) location(ctx context.Context, siteID string) (json.RawMessage, error) {
	if id, ok := r.locations[siteID]; ok {
		return id, nil
	}
	p, ok := r.places(siteID)
	if !ok {
		return nil, nil
	}
	desc := p.Description
	if desc == "" {
		desc = p.Name
	}
	id, err := r.ensure(ctx, "Locations", "location:"+siteID, "name", map[string]any{
		"name": "site " + siteID, "description": desc, "encodingType": "application/geo+json",
		"location": map[string]any{"type": "Point", "coordinates": []float64{p.Lon, p.Lat}},
	})
	if err == nil {
		r.locations[siteID] = id
	}
	return id, err
}

// thing finds or creates the device's Thing and keeps its site and profile
// in step with the registry; a new site becomes a new Location link, and
// so a HistoricalLocation.
func (r *resolver) thing(ctx context.Context, devEUI string) (json.RawMessage, error) {
	dev, _ := r.devices(devEUI)
	ts := r.things[devEUI]
	if ts != nil && ts.site == dev.Site && ts.profile == dev.Profile {
		return ts.id, nil
	}
	key := "thing:" + devEUI
	var locs []link
	if dev.Site != "" {
		loc, err := r.location(ctx, dev.Site)
		if err != nil {
			return nil, err
		}
		if loc != nil {
			locs = []link{{ID: loc}}
		}
	}
	props := map[string]any{keyProperty: key, "devEUI": devEUI, "profile": dev.Profile, "site": dev.Site}
	name := dev.Name
	if name == "" {
		name = "LoRaWAN device " + devEUI
	}
	desc := fmt.Sprintf("LoRaWAN device %s, firmware profile %q, site %q", devEUI, dev.Profile, dev.Site)
	if ts == nil {
		id, old, err := r.find(ctx, "Things", key, "", "")
		if err != nil {
			return nil, err
		}
		if id == nil {
			body := map[string]any{"name": name, "description": desc, "properties": props}
			if locs != nil {
				body["Locations"] = locs
			}
			var created entity
			if err := r.c.do(ctx, "POST", "Things", body, &created); err != nil {
				return nil, fmt.Errorf("create Thing %s: %w", devEUI, err)
			}
			r.onNew("Things")
			r.things[devEUI] = &thingState{id: created.ID, site: dev.Site, profile: dev.Profile}
			return created.ID, nil
		}
		ts = &thingState{id: id, site: str(old["site"]), profile: str(old["profile"])}
		r.things[devEUI] = ts
		if ts.site == dev.Site && ts.profile == dev.Profile {
			return id, nil
		}
	}
	patch := map[string]any{"name": name, "description": desc, "properties": props}
	if ts.site != dev.Site && locs != nil {
		patch["Locations"] = locs
	}
	if err := r.c.do(ctx, "PATCH", "Things("+idString(ts.id)+")", patch, nil); err != nil {
		return nil, fmt.Errorf("update Thing %s: %w", devEUI, err)
	}
	ts.site, ts.profile = dev.Site, dev.Profile
	return ts.id, nil
}

func (r *resolver) sensor(ctx context.Context, profile string) (json.RawMessage, error) {
	if id, ok := r.sensors[profile]; ok {
		return id, nil
	}
	name := profile
	if name == "" {
		name = "unknown firmware profile"
	}
	id, err := r.ensure(ctx, "Sensors", "sensor:"+profile, "name", map[string]any{
		"name": name, "description": "LoRaWAN sensor with loraedge firmware profile " + name,
		"encodingType": "text/plain", "metadata": "loraedge firmware profile " + name,
	})
	if err == nil {
		r.sensors[profile] = id
	}
	return id, err
}

func (r *resolver) observedProperty(ctx context.Context, q measurement.Quantity) (json.RawMessage, error) {
	if id, ok := r.props[q]; ok {
		return id, nil
	}
	id, err := r.ensure(ctx, "ObservedProperties", "quantity:"+string(q), "definition", map[string]any{
		"name": string(q), "definition": QuantityDefinition(q),
		"description": "loraedge canonical quantity " + string(q) + " in " + measurement.Units[q],
	})
	if err == nil {
		r.props[q] = id
	}
	return id, err
}

// datastream finds or creates the Datastream of m's series.
func (r *resolver) datastream(ctx context.Context, m measurement.Measurement) (json.RawMessage, error) {
	series := m.SeriesKey()
	if id, ok := r.datastreams[series]; ok {
		if _, err := r.thing(ctx, m.Device); err != nil { // keeps the site in step
			return nil, err
		}
		return id, nil
	}
	thing, err := r.thing(ctx, m.Device)
	if err != nil {
		return nil, err
	}
	dev, _ := r.devices(m.Device)
	sensor, err := r.sensor(ctx, dev.Profile)
	if err != nil {
		return nil, err
	}
	op, err := r.observedProperty(ctx, m.Quantity)
	if err != nil {
		return nil, err
	}
	name := m.Device + " " + string(m.Quantity)
	if m.Channel != 0 {
		name += " channel " + strconv.Itoa(m.Channel)
	}
	unit := m.Unit
	if unit == "" {
		unit = measurement.Units[m.Quantity]
	}
	id, err := r.ensure(ctx, "Datastreams", "datastream:"+series, "name", map[string]any{
		"name": name, "description": string(m.Quantity) + " of LoRaWAN device " + m.Device,
		"unitOfMeasurement": Unit(unit), "observationType": ObservationType,
		"Thing": link{ID: thing}, "Sensor": link{ID: sensor}, "ObservedProperty": link{ID: op},
	})
	if err == nil {
		r.datastreams[series] = id
	}
	return id, err
}

func str(v any) string { s, _ := v.(string); return s }
