// Package site describes the places devices are mounted at: public
// buildings (for energy reports and indoor air), road sections (for the
// winter road service), river gauges and event areas (for civil
// protection).
package site

import (
	"errors"
	"fmt"
)

// Kind is what a site is.
type Kind string

// Site kinds.
const (
	Building Kind = "building"
	Road     Kind = "road"
	// Gauge is a river level gauge (Pegel): its distance or pressure
	// sensor gives the water level above the gauge zero.
	Gauge Kind = "gauge"
	// Area is a place whose people counters give its occupancy.
	Area Kind = "area"
)

// Site is a building or a road section.
type Site struct {
	ID      string  `mapstructure:"id" yaml:"id" json:"id"`
	Name    string  `mapstructure:"name" yaml:"name" json:"name"`
	Kind    Kind    `mapstructure:"kind" yaml:"kind" json:"kind"`
	Address string  `mapstructure:"address" yaml:"address" json:"address,omitempty"`
	Road    string  `mapstructure:"road" yaml:"road" json:"road,omitempty"` // e.g. "K 23"
	Km      float64 `mapstructure:"km" yaml:"km" json:"km,omitempty"`
	Route   string  `mapstructure:"route" yaml:"route" json:"route,omitempty"` // Streuroute / Meisterei
	Lat     float64 `mapstructure:"lat" yaml:"lat" json:"lat,omitempty"`
	Lon     float64 `mapstructure:"lon" yaml:"lon" json:"lon,omitempty"`
	// BGF and NRF are reference areas in m2 (VDI 3807 uses BGF, GEG NRF).
	BGF  float64 `mapstructure:"bgf_m2" yaml:"bgf_m2" json:"bgf_m2,omitempty"`
	NRF  float64 `mapstructure:"nrf_m2" yaml:"nrf_m2" json:"nrf_m2,omitempty"`
	Team string  `mapstructure:"team" yaml:"team" json:"team,omitempty"`
	// MosmixStation is the DWD MOSMIX station whose point forecast drives a
	// road site's physics forecast (e.g. 10430); empty: the trend forecast
	// only.
	MosmixStation string `mapstructure:"mosmix_station" yaml:"mosmix_station" json:"mosmix_station,omitempty"`
	GaugeSite     `mapstructure:",squash" yaml:",inline"`
	// Capacity of an area (persons; 0: not stated), shown with its
	// occupancy.
	Capacity int `mapstructure:"capacity" yaml:"capacity" json:"capacity,omitempty"`
	// Tags: "opendata" on a gauge publishes its level and rate at
	// /api/v1/opendata.
	Tags []string `mapstructure:"tags" yaml:"tags" json:"tags,omitempty"`
}

// Validate reports every problem of s at once.
func (s Site) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("id: required"))
	}
	switch s.Kind {
	case Building, Road, Area:
	case Gauge:
		errs = append(errs, s.validate()...)
	default:
		errs = append(errs, fmt.Errorf("kind: %q is not building, road, gauge or area", s.Kind))
	}
	if s.Kind != Gauge && (s.MountingHeight != 0 || s.SensorHeight != nil || s.River != "") {
		errs = append(errs, errors.New("river/mounting_height_m/sensor_height_m: only gauge sites have them"))
	}
	if s.Capacity < 0 {
		errs = append(errs, errors.New("capacity: must not be negative"))
	}
	if s.Lat < -90 || s.Lat > 90 || s.Lon < -180 || s.Lon > 180 {
		errs = append(errs, fmt.Errorf("lat/lon: %g,%g out of range", s.Lat, s.Lon))
	}
	if s.BGF < 0 || s.NRF < 0 {
		errs = append(errs, errors.New("bgf_m2/nrf_m2: must not be negative"))
	}
	return errors.Join(errs...)
}
