// Package sensorthings delivers the store's log to an OGC SensorThings API
// server (versions 1.0 and 1.1), a peer of the InfluxDB and MQTT sinks.
//
// The Sink reads the log from its own persisted cursor ("sensorthings"),
// maps each measurement to the Datastream of its device and quantity
// (creating the Thing, Location, Sensor, ObservedProperty and Datastream
// on first use, each found again by a stable key) and creates the
// observations with the batch extension, POST /CreateObservations with
// dataArray. The cursor is committed only after the server answered for
// every observation of the records read. Failed requests are retried with
// exponential backoff and jitter; a request the server refuses as a whole
// is bisected, and an observation the server refuses alone ("error" in
// the answer, or 400 for a single one) is dropped, counted and logged.
//
// A replay (a crash after the server's answer and before the cursor's
// commit, or an answer lost on the way) is made harmless by checking
// before resending: the first request after a start and every request
// after a failure first asks, per Datastream, which phenomenonTimes of the
// batch the server already has, and leaves those out.
//
// With mqtt_url set, observations are published to the server's MQTT
// interface instead and confirmed by the same read-back before the cursor
// moves; those the server does not show in time go over HTTP.
package sensorthings
