// Package ice holds the road-weather logic for the winter road service:
// dew and frost point (Magnus, WMO constants), road surface states (TLS
// codes), the decision tree of the German traffic-centre ice warning as we
// read its description (SWE 4.14 "Glättewarnung und -prognose", see
// shared/domain.md, section 1; implemented from that prose, not from the
// GPL source), a least-squares trend forecast run through the same tree for
// several horizons, and a per-station Tracker that turns assessments into
// Vorwarnung / Warnung / Alarm with hysteresis and an explicit Entwarnung.
//
// The package is pure: no I/O, no goroutines, no clock. Callers pass the time.
// Temperatures are degC, water film in mm, relative humidity in percent.
// Optional inputs are pointers (nil = not measured); Go 1.26 callers write
// new(1.5) for a literal.
package ice
