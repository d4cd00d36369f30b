// Package influx delivers the store's log to InfluxDB and queries it back
// for reports.
//
// # Delivery
//
// The Sink reads the log from its own persisted store cursor ("influx"),
// writes batches of up to batch_size points with the client's blocking
// write API (the client's async API keeps its retry buffer in memory and
// drops from it, so it is not used) and commits the cursor only after
// InfluxDB acknowledged every point of the batch. A failed write is retried
// with exponential backoff and jitter (up to max_backoff) for as long as it
// takes: the log, not a memory buffer, holds the backlog, so an InfluxDB
// outage or a daemon restart loses nothing, within the store's disk budget.
//
// Points InfluxDB rejects (HTTP 400/422, e.g. a field type conflict, or 413
// for a too large request) do not block the sink: the batch is bisected
// until the bad points are alone; those are dropped, counted in
// loraedge_influx_points_dropped_total{reason} and logged, everything else
// is written. NaN and Inf values have no line protocol syntax and are
// dropped before the write (reason "unrepresentable").
//
// # Point layout
//
// Each measurement becomes one point:
//
//	<family>,channel=<n>,device=<dev_eui>,gateway=<gateway_id>,site=<site>,unit=<unit> <quantity>=<value> <time ns>
//
// with
//
//   - measurement: the quantity's family (see Families): road_weather
//     (road surface/subsurface temperature, surface state, water film,
//     freezing temperature), weather (precipitation, pressure, wind, solar
//     radiation), air (air temperature, humidity, dew/frost point, CO2,
//     TVOC, PM, NO2), room (illuminance, motion, occupancy), meter
//     (energy, power, heat, flow/return temperature, volume flow, water,
//     gas, pulses, valve state), device (battery), alarm (leak, burst,
//     backflow, dry, tamper, low battery); "other" for quantities not
//     listed.
//   - field: the canonical quantity name; always a float.
//   - tags: device (DevEUI, lower-case hex); site (Meta["site"], left out
//     when empty); channel (only when nonzero, so single-channel series
//     keep one tag set); gateway (the writing daemon's gateway_id, left
//     out when empty); quality (Meta["quality"], "invalid" on a reading
//     the sensor flagged as none, left out otherwise); unit (fixed per
//     quantity, so it adds no series; it lets dashboards label axes). Commas, spaces and '=' are escaped;
//     control characters and backslashes become '_'.
//   - time: the measurement's own time (gateway receive time or the time
//     the payload states), never the write time.
//
// # Exactly once in the database
//
// Delivery from the log is at least once: a batch written but not yet
// committed when the daemon stops is written again after the restart. A
// point is identified by measurement, tag set, field and time, and InfluxDB
// overwrites a point it already has, so the replay is no duplicate. (Two
// measurements of one series at the same time, after the store's time
// resolution, are one point in InfluxDB as they are in the store.)
//
// # Queries
//
// The Reader runs Flux (InfluxDB 1.8 with flux-enabled, or 2.x) and
// returns the store's shapes (store.Series, store.AggregateSeries) for
// store series keys, combined over all gateways, so reports can read either
// source through one small interface.
//
// # Figures
//
// Replay of a 200,000-point backlog after an outage, 2 shared cores,
// InfluxDB 1.8.10 on the same machine, batch_size 5000
// (go test ./internal/influx/ -run '^$' -bench Replay -benchtime 1x):
// 97,000 to 273,000 points/s over four runs (the cores were shared with
// other builds; influxd, on the same cores, takes most of the CPU).
package influx
