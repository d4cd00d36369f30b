// Test codec of loraedge in the TS013 form (decodeUplink).
function decodeUplink(input) {
  if (input.fPort !== 2) {
    return { errors: ["unknown fPort"] };
  }
  var b = input.bytes;
  var t = (b[0] << 8) | b[1];
  if (t & 0x8000) {
    t -= 0x10000;
  }
  return {
    data: {
      temperature: t / 10,
      humidity: b[2],
      co2: (b[3] << 8) | b[4],
      vdd: (b[5] << 8) | b[6],
      status: "ok"
    }
  };
}
