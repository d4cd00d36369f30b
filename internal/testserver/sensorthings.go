package testserver

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SensorThings is an in-process OGC SensorThings API server (OGC 18-088,
// versions 1.0 and 1.1): the entities Things, Locations,
// HistoricalLocations, Sensors, ObservedProperties, Datastreams and
// Observations with create (POST), update of Things (PATCH), reads with
// $filter/$top/$skip, and the batch extension POST /CreateObservations with
// dataArray. No SensorThings server installs here from the registries this
// project can reach (GOST's modules are not on the Go module proxy, the npm
// implementation depends on a Git repository, FROST needs Maven), so the
// integration tests run against this one, written from the specification's
// requests and responses. It is strict where a real server is: unknown or
// missing required properties, links to entities that do not exist, and
// "properties" on entities that have none in 1.0 are rejected with 400.
//
// Its state lives in memory and survives Stop and Start (a server outage),
// like a database behind a real server.
type SensorThings struct {
	// URL is the service root with its version, e.g. http://127.0.0.1:1234/v1.1.
	URL     string
	Version string
	// User and Password, when set, are required as HTTP basic auth; Token,
	// when set, as a bearer token instead.
	User, Password, Token string

	t    testing.TB
	addr string

	mu          sync.Mutex
	srv         *http.Server
	ents        map[string]map[int]map[string]any
	obs         map[int][]map[string]any
	nextID      int
	reject      func(datastream int, result any) bool
	dropReplies int
	requests    map[string]int
}

// StartSensorThings starts a server of version ("1.0" or "1.1") on a free
// loopback port, stopped by t.Cleanup.
func StartSensorThings(t testing.TB, version string) *SensorThings {
	t.Helper()
	if version != "1.0" && version != "1.1" {
		t.Fatalf("sensorthings: version %q", version)
	}
	s := &SensorThings{
		Version: version, t: t,
		addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))),
		ents:     map[string]map[int]map[string]any{},
		obs:      map[int][]map[string]any{},
		requests: map[string]int{},
	}
	for _, c := range staCollections {
		s.ents[c] = map[int]map[string]any{}
	}
	s.URL = "http://" + s.addr + "/v" + version
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)opens the server on its address.
func (s *SensorThings) Start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the old socket may linger a moment after Stop
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("sensorthings: listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop closes the server and every open connection; the state stays.
func (s *SensorThings) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Reject installs a validation rule: an observation for which it returns
// true is refused ("error" in the CreateObservations answer).
func (s *SensorThings) Reject(f func(datastream int, result any) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = f
}

// DropReplies makes the next n CreateObservations requests be carried out
// and then answered by a closed connection: the client cannot know that
// its observations were created (a crash or timeout after the commit).
func (s *SensorThings) DropReplies(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropReplies = n
}

// Entities returns copies of the entities of a collection ("Things", ...).
func (s *SensorThings) Entities(collection string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, id := range sortedIDs(s.ents[collection]) {
		out = append(out, clone(s.ents[collection][id]))
	}
	return out
}

// Observations returns copies of the observations of every datastream,
// by datastream id.
func (s *SensorThings) Observations() map[int][]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int][]map[string]any{}
	for ds, list := range s.obs {
		for _, o := range list {
			out[ds] = append(out[ds], clone(o))
		}
	}
	return out
}

// Delete removes an entity, as an operator of the platform might; a
// Datastream takes its observations with it, as in the specification.
func (s *SensorThings) Delete(collection string, id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ents[collection], id)
	if collection == "Datastreams" {
		delete(s.obs, id)
	}
}

// ObservationCount returns how many observations the server holds.
func (s *SensorThings) ObservationCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, list := range s.obs {
		n += len(list)
	}
	return n
}

// Requests returns how many requests each "METHOD Collection" had.
func (s *SensorThings) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

var staCollections = []string{"Things", "Locations", "HistoricalLocations", "Sensors", "ObservedProperties", "Datastreams"}

// staFields lists each collection's properties: required ones first, then
// optional ones; "properties" is added for 1.1 (and Things in 1.0).
var staFields = map[string]struct{ required, optional []string }{
	"Things":             {[]string{"name", "description"}, []string{"properties", "Locations"}},
	"Locations":          {[]string{"name", "description", "encodingType", "location"}, nil},
	"Sensors":            {[]string{"name", "description", "encodingType", "metadata"}, nil},
	"ObservedProperties": {[]string{"name", "definition", "description"}, nil},
	"Datastreams": {[]string{"name", "description", "unitOfMeasurement", "observationType", "Thing", "Sensor", "ObservedProperty"},
		[]string{"observedArea", "phenomenonTime", "resultTime"}},
}

var staPath = regexp.MustCompile(`^/v(1\.[01])/([A-Za-z]+)(?:\((\d+)\))?(?:/([A-Za-z]+))?$`)

type staError struct {
	code int
	msg  string
}

func (s *SensorThings) serve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="sta"`)
		http.Error(w, `{"code":401,"type":"error","message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	m := staPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != s.Version {
		writeSTA(w, http.StatusNotFound, map[string]any{"code": 404, "type": "error", "message": "no such path " + r.URL.Path})
		return
	}
	coll, id, sub := m[2], -1, m[4]
	if m[3] != "" {
		id, _ = strconv.Atoi(m[3])
	}
	s.mu.Lock()
	s.requests[r.Method+" "+coll]++
	var status int
	var body any
	var err *staError
	switch {
	case r.Method == http.MethodPost && coll == "CreateObservations":
		status, body, err = s.createObservations(r)
		if err == nil && s.dropReplies > 0 {
			s.dropReplies--
			s.mu.Unlock()
			dropConnection(w)
			return
		}
	case r.Method == http.MethodPost && id < 0:
		status, body, err = s.create(r, coll)
	case r.Method == http.MethodPatch && coll == "Things" && id >= 0 && sub == "":
		status, body, err = s.patchThing(r, id)
	case r.Method == http.MethodGet:
		status, body, err = s.get(r, coll, id, sub)
	default:
		err = &staError{http.StatusMethodNotAllowed, r.Method + " not supported here"}
	}
	s.mu.Unlock()
	if err != nil {
		writeSTA(w, err.code, map[string]any{"code": err.code, "type": "error", "message": err.msg})
		return
	}
	if e, ok := body.(map[string]any); ok && status == http.StatusCreated {
		w.Header().Set("Location", fmt.Sprint(e["@iot.selfLink"]))
	}
	writeSTA(w, status, body)
}

func (s *SensorThings) authorized(r *http.Request) bool {
	if s.Token != "" {
		return r.Header.Get("Authorization") == "Bearer "+s.Token
	}
	if s.User != "" {
		u, p, ok := r.BasicAuth()
		return ok && u == s.User && p == s.Password
	}
	return true
}

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
		}
	}
}

func writeSTA(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *SensorThings) selfLink(coll string, id int) string {
	return fmt.Sprintf("%s/%s(%d)", s.URL, coll, id)
}

func (s *SensorThings) add(coll string, e map[string]any) map[string]any {
	s.nextID++
	e["@iot.id"] = s.nextID
	e["@iot.selfLink"] = s.selfLink(coll, s.nextID)
	s.ents[coll][s.nextID] = e
	return e
}

func (s *SensorThings) create(r *http.Request, coll string) (int, any, *staError) {
	spec, ok := staFields[coll]
	if !ok {
		return 0, nil, &staError{http.StatusBadRequest, "cannot create " + coll}
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &staError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	allowed := append(slices.Clone(spec.required), spec.optional...)
	if s.Version == "1.1" || coll == "Things" {
		allowed = append(allowed, "properties")
	}
	for k := range in {
		if !slices.Contains(allowed, k) {
			return 0, nil, &staError{http.StatusBadRequest, fmt.Sprintf("unknown property %q of %s", k, coll)}
		}
	}
	for _, k := range spec.required {
		if v, ok := in[k]; !ok || v == nil || v == "" {
			return 0, nil, &staError{http.StatusBadRequest, fmt.Sprintf("missing required property %q", k)}
		}
	}
	e := map[string]any{}
	for k, v := range in {
		if k != "Locations" && k != "Thing" && k != "Sensor" && k != "ObservedProperty" {
			e[k] = v
		}
	}
	if coll == "Datastreams" {
		if err := checkUoM(in["unitOfMeasurement"]); err != nil {
			return 0, nil, err
		}
		for link, target := range map[string]string{"Thing": "Things", "Sensor": "Sensors", "ObservedProperty": "ObservedProperties"} {
			lid, err := s.link(in[link], target)
			if err != nil {
				return 0, nil, err
			}
			e["_"+link] = lid
		}
	}
	var locs []int
	if coll == "Things" && in["Locations"] != nil {
		var err *staError
		if locs, err = s.links(in["Locations"]); err != nil {
			return 0, nil, err
		}
	}
	e = s.add(coll, e)
	if coll == "Things" && len(locs) > 0 {
		s.setLocations(e, locs)
	}
	return http.StatusCreated, clean(e), nil
}

func checkUoM(v any) *staError {
	u, ok := v.(map[string]any)
	if !ok {
		return &staError{http.StatusBadRequest, "unitOfMeasurement must be an object"}
	}
	for _, k := range []string{"name", "symbol", "definition"} {
		if _, ok := u[k].(string); !ok {
			return &staError{http.StatusBadRequest, "unitOfMeasurement." + k + " must be a string"}
		}
	}
	return nil
}

func (s *SensorThings) link(v any, coll string) (int, *staError) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, &staError{http.StatusBadRequest, "a link to " + coll + " must be an object with @iot.id"}
	}
	f, ok := m["@iot.id"].(float64)
	if !ok || len(m) != 1 {
		return 0, &staError{http.StatusBadRequest, "a link to " + coll + " must be {\"@iot.id\": n}"}
	}
	if _, ok := s.ents[coll][int(f)]; !ok {
		return 0, &staError{http.StatusBadRequest, fmt.Sprintf("no %s(%d)", coll, int(f))}
	}
	return int(f), nil
}

func (s *SensorThings) links(v any) ([]int, *staError) {
	list, ok := v.([]any)
	if !ok {
		return nil, &staError{http.StatusBadRequest, "Locations must be an array"}
	}
	var ids []int
	for _, l := range list {
		id, err := s.link(l, "Locations")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// setLocations gives a Thing new Locations and, as the specification
// requires, a HistoricalLocation recording the change.
func (s *SensorThings) setLocations(thing map[string]any, locs []int) {
	thing["_Locations"] = locs
	s.add("HistoricalLocations", map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339Nano), "_Thing": thing["@iot.id"], "_Locations": locs})
}

func (s *SensorThings) patchThing(r *http.Request, id int) (int, any, *staError) {
	thing, ok := s.ents["Things"][id]
	if !ok {
		return 0, nil, &staError{http.StatusNotFound, fmt.Sprintf("no Things(%d)", id)}
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &staError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	var locs []int
	for k, v := range in {
		switch k {
		case "name", "description", "properties":
		case "Locations":
			var err *staError
			if locs, err = s.links(v); err != nil {
				return 0, nil, err
			}
		default:
			return 0, nil, &staError{http.StatusBadRequest, fmt.Sprintf("cannot update %q", k)}
		}
	}
	for k, v := range in {
		if k != "Locations" {
			thing[k] = v
		}
	}
	if in["Locations"] != nil {
		s.setLocations(thing, locs)
	}
	return http.StatusOK, clean(thing), nil
}

func (s *SensorThings) createObservations(r *http.Request) (int, any, *staError) {
	var in []struct {
		Datastream map[string]any `json:"Datastream"`
		Components []string       `json:"components"`
		Count      int            `json:"dataArray@iot.count"`
		DataArray  [][]any        `json:"dataArray"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &staError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	var out []string
	for _, block := range in {
		ds, lerr := s.link(block.Datastream, "Datastreams")
		ti, ri := slices.Index(block.Components, "phenomenonTime"), slices.Index(block.Components, "result")
		if ti < 0 || ri < 0 {
			return 0, nil, &staError{http.StatusBadRequest, "components must name phenomenonTime and result"}
		}
		if block.Count != 0 && block.Count != len(block.DataArray) {
			return 0, nil, &staError{http.StatusBadRequest, "dataArray@iot.count does not match dataArray"}
		}
		for _, row := range block.DataArray {
			if lerr != nil || len(row) != len(block.Components) {
				out = append(out, "error")
				continue
			}
			o := map[string]any{}
			for i, c := range block.Components {
				o[c] = row[i]
			}
			link, ok := s.addObservation(ds, o)
			if !ok {
				link = "error"
			}
			out = append(out, link)
		}
	}
	return http.StatusCreated, out, nil
}

// addObservation stores o in Datastream ds if it is valid, and returns
// its selfLink. The caller holds s.mu.
func (s *SensorThings) addObservation(ds int, o map[string]any) (string, bool) {
	pt, _ := o["phenomenonTime"].(string)
	_, isNum := o["result"].(float64)
	if _, err := time.Parse(time.RFC3339Nano, pt); err != nil || !isNum ||
		(s.reject != nil && s.reject(ds, o["result"])) {
		return "", false
	}
	s.nextID++
	o["_Datastream"] = ds
	o["@iot.id"] = s.nextID
	o["@iot.selfLink"] = s.selfLink("Observations", s.nextID)
	s.obs[ds] = append(s.obs[ds], o)
	return o["@iot.selfLink"].(string), true
}

func (s *SensorThings) get(r *http.Request, coll string, id int, sub string) (int, any, *staError) {
	var list []map[string]any
	switch {
	case coll == "Datastreams" && id >= 0 && sub == "Observations":
		if _, ok := s.ents["Datastreams"][id]; !ok {
			return 0, nil, &staError{http.StatusNotFound, fmt.Sprintf("no Datastreams(%d)", id)}
		}
		list = s.obs[id]
	case coll == "Things" && id >= 0 && (sub == "HistoricalLocations" || sub == "Datastreams" || sub == "Locations"):
		thing, ok := s.ents["Things"][id]
		if !ok {
			return 0, nil, &staError{http.StatusNotFound, fmt.Sprintf("no Things(%d)", id)}
		}
		list = s.related(thing, sub)
	case id >= 0 && sub == "":
		e, ok := s.ents[coll][id]
		if !ok {
			return 0, nil, &staError{http.StatusNotFound, fmt.Sprintf("no %s(%d)", coll, id)}
		}
		return http.StatusOK, clean(e), nil
	case id < 0 && s.ents[coll] != nil:
		for _, k := range sortedIDs(s.ents[coll]) {
			list = append(list, s.ents[coll][k])
		}
	default:
		return 0, nil, &staError{http.StatusNotFound, "no such path " + r.URL.Path}
	}
	return s.page(r, list)
}

func (s *SensorThings) related(thing map[string]any, sub string) []map[string]any {
	var list []map[string]any
	switch sub {
	case "Locations":
		locs, _ := thing["_Locations"].([]int)
		for _, l := range locs {
			list = append(list, s.ents["Locations"][l])
		}
	default:
		coll, key := sub, "_Thing"
		for _, k := range sortedIDs(s.ents[coll]) {
			if s.ents[coll][k][key] == thing["@iot.id"] {
				list = append(list, s.ents[coll][k])
			}
		}
	}
	return list
}

func (s *SensorThings) page(r *http.Request, list []map[string]any) (int, any, *staError) {
	q := r.URL.Query()
	var matched []map[string]any
	if f := q.Get("$filter"); f != "" {
		pred, err := parseSTAFilter(f)
		if err != nil {
			return 0, nil, &staError{http.StatusBadRequest, "$filter: " + err.Error()}
		}
		for _, e := range list {
			if pred(e) {
				matched = append(matched, e)
			}
		}
	} else {
		matched = list
	}
	top, skip := 100, 0
	if v := q.Get("$top"); v != "" {
		top, _ = strconv.Atoi(v)
	}
	if v := q.Get("$skip"); v != "" {
		skip, _ = strconv.Atoi(v)
	}
	out := map[string]any{"value": []map[string]any{}}
	var page []map[string]any
	for i := skip; i < len(matched) && i < skip+top; i++ {
		page = append(page, clean(matched[i]))
	}
	if page != nil {
		out["value"] = page
	}
	if skip+top < len(matched) {
		q.Set("$skip", strconv.Itoa(skip+top))
		out["@iot.nextLink"] = "http://" + s.addr + r.URL.Path + "?" + q.Encode()
	}
	if q.Get("$count") == "true" {
		out["@iot.count"] = len(matched)
	}
	return http.StatusOK, out, nil
}

var staClause = regexp.MustCompile(`^\s*([A-Za-z@.]+(?:/[A-Za-z_@.]+)?)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[^\s']+)\s*$`)

// parseSTAFilter understands conjunctions of comparisons of a property
// (name, definition, properties/key, phenomenonTime) with a literal.
func parseSTAFilter(f string) (func(map[string]any) bool, error) {
	var preds []func(map[string]any) bool
	for _, part := range strings.Split(f, " and ") {
		m := staClause.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("cannot parse %q", part)
		}
		path, op, lit := m[1], m[2], m[3]
		var str string
		if strings.HasPrefix(lit, "'") {
			str = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
		} else {
			str = lit
		}
		preds = append(preds, func(e map[string]any) bool {
			v := e[path]
			if k, ok := strings.CutPrefix(path, "properties/"); ok {
				p, _ := e["properties"].(map[string]any)
				v = p[k]
			}
			return compareSTA(v, op, str, path == "phenomenonTime")
		})
	}
	return func(e map[string]any) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		return true
	}, nil
}

func compareSTA(v any, op, lit string, isTime bool) bool {
	if v == nil {
		return false
	}
	var c int
	if isTime {
		a, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
		b, err2 := time.Parse(time.RFC3339Nano, lit)
		if err1 != nil || err2 != nil {
			return false
		}
		c = a.Compare(b)
	} else {
		c = strings.Compare(fmt.Sprint(v), lit)
	}
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	default:
		return c <= 0
	}
}

// clean copies an entity without its internal link fields ("_Thing"...).
func clean(e map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range e {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

func clone(e map[string]any) map[string]any { return maps.Clone(e) }

func sortedIDs(m map[int]map[string]any) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
