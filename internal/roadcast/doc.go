// Package roadcast forecasts the road surface over the next hours with a
// one-dimensional physical model of the road, written from the published
// descriptions of FMI's RoadSurf 1.1 (Karsisto et al., GMD 17:4837, 2024)
// and Environment Canada's METRo (Crevier and Delage, J. Appl. Meteor. 40,
// 2001, and METRo's documentation).
//
// The model solves the surface energy balance (absorbed short-wave, long-wave
// in and out, sensible and latent heat), conducts heat through asphalt over a
// base course with an implicit scheme, and keeps water, ice, hoar frost and
// snow on the surface. Before forecasting it runs over the station's recent
// measurements with the surface held at the measured temperature, which
// spins up the subsurface profile and yields the flux the model lacked to
// match the road; that correction decays over the first hours of the
// forecast, as METRo's coupling stage does.
//
// The package is a leaf: drivers (MOSMIX, a simulator) convert their data to
// Hour values, and alerting reads Result.
package roadcast
