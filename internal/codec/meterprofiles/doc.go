// Package meterprofiles holds only tests: they run the published examples
// of the energy-meter devices (Elvaco CMi4140, Kamstrup flowIQ 2200, KLAX,
// Axioma QALCOSONIC W1, ZENNER EDC) through the shipped firmware profiles,
// from payload bytes to canonical measurements.
package meterprofiles
