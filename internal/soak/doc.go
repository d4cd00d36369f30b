// Package soak holds loraedge's reliability suite: tests that run the built
// daemon as a child process (so that kill -9 is a real crash) with ABP road
// stations sending real GWMP/LoRaWAN uplinks over loopback UDP, break
// something around it, and check an invariant afterwards:
//
//   - TestKillLoop: SIGKILL at random moments under load, restart on the
//     same data dir; whatever reached MQTT is in the store, the store checks
//     clean, frames replayed after a restart are rejected.
//   - TestSinkOutages: Mosquitto and InfluxDB killed and restarted during
//     ingest; afterwards InfluxDB holds every stored measurement exactly
//     once and MQTT delivered every one at least once.
//   - TestDiskFull: the data dir on an 8 MiB tmpfs; the daemon goes
//     read-only, stays up, keeps what it had, and writes again when space
//     returns.
//   - TestDataClockJumps: gateways' GPS times jump by hours back and forth;
//     measurements keep their own times, FCnt checks and dedup are unaffected.
//   - TestFlood: malformed datagrams, forged MICs and replays mixed with
//     valid traffic; every valid uplink is stored, every bad one counted
//     under its reason, memory stays bounded.
//
// The tests are short by default (a few seconds of load each, for `make
// test`); -soak.duration (or LORAEDGE_SOAK_DURATION) sets the load time of
// each scenario, e.g. `make soak` runs 10 minutes each.
package soak
