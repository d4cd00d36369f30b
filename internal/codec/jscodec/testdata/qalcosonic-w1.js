// Test decoder for the Axioma QALCOSONIC W1 "enhanced 24 h" frame (fPort 100,
// 51 bytes), written for loraedge's JS codec tests from the format
// description in /work/shared/vectors/FORMATS.md. It mirrors the field names
// of the native Go decoder (internal/codec/axioma).
function u32le(b, i) {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 16777216;
}

// readBits returns n bits from position pos of a little-endian bit stream.
function readBits(b, start, pos, n) {
  var v = 0;
  for (var k = 0; k < n; k++) {
    var p = pos + k;
    if ((b[start + (p >> 3)] >> (p & 7)) & 1) {
      v += 1 << k;
    }
  }
  return v;
}

function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 100) {
    return { errors: ["unexpected fPort " + input.fPort] };
  }
  if (b.length !== 51) {
    return { errors: ["payload length " + b.length + ", want 51"] };
  }
  if (b[0] !== 1) {
    return { errors: ["frame version " + b[0] + ", want 1"] };
  }
  var ts = u32le(b, 1);
  var st = b[5];
  var logL = u32le(b, 6);
  var backflow = (st & 0x60) === 0x60;
  var burst = (st & 0xa0) === 0xa0;
  var d = {
    payload_format: "AXIOMA_W1_ENHANCED_24H",
    frame_version: b[0],
    payload_bytes: b.length,
    timestamp_unix: ts,
    timestamp_utc: new Date(ts * 1000).toISOString(),
    status: st,
    low_battery: (st & 0x04) !== 0,
    permanent_error: (st & 0x08) !== 0,
    temporary_error: (st & 0x10) !== 0,
    pipe_empty: st === 0x10,
    backflow: backflow,
    burst: burst,
    leakage: (st & 0x20) !== 0 && !backflow && !burst,
    low_temperature: (st & 0x80) !== 0 && !burst,
    log_volume_m3: logL / 1000
  };
  var sum = 0;
  for (var i = 0; i < 23; i++) {
    var delta = readBits(b, 10, i * 14, 14);
    sum += delta;
    d["delta_" + (i + 1) + "_m3"] = delta / 1000;
  }
  d.history_count = 23;
  d.history_total_m3 = sum / 1000;
  d.current_volume_m3 = (logL + sum) / 1000;
  d.history_multiplier = readBits(b, 10, 322, 6);
  var warnings = [];
  if (d.history_multiplier !== 0) {
    warnings.push("history multiplier " + d.history_multiplier + " is not applied");
  }
  return { data: d, warnings: warnings, errors: [] };
}
