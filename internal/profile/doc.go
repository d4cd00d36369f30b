package profile

// Schema of a profile file, firmware-profiles/<vendor>/<model>.yaml (the
// id "<vendor>/<model>" comes from the path; unknown keys are errors):
//
//	vendor: Decentlab                # display name, required
//	model: DL-SHT35                  # display name, required
//	description: Air temperature and humidity with radiation shield.
//	firmware: {min: "1.0", max: "2.9"}   # optional, inclusive, dotted numbers
//	lorawan: {version: 1.0.2, class: A}  # version 1.0.0-1.0.4 or 1.1; class A|B|C (default A)
//	codec:
//	  id: decentlab-dl-sht35         # a registered codec id (codec/all)
//	  options: {}                    # passed to the codec constructor, checked by it
//	uplink_interval: 10m             # Go duration; expected interval in the default config
//	measurements:                    # decoded field -> canonical quantity, at least one
//	  - field: air_temperature       # codec.Value.Field (vendor's field name)
//	    quantity: air_temperature    # measurement.Quantity
//	  - field: battery_voltage
//	    quantity: battery_voltage
//	  - field: counterValues
//	    channel: 1                   # optional: only values of this channel
//	    quantity: water_volume
//	    scale: 0.001                 # canonical = value*scale + offset (defaults 1, 0)
//	    offset: 0
//	downlinks:
//	  - name: set_period             # snake_case
//	    description: Set the measurement interval.
//	    fport: 1
//	    confirmed: false
//	    template: "0001{period:u16be}{crc16modbus}"
//	    params:
//	      - {name: period, unit: s, min: 10, max: 65535, scale: 1}
//	  - name: reboot
//	    fport: 85
//	    hex: "ff10ff"
//
// Template placeholders are {param:enc} with enc one of u8 i8 u16be u16le
// i16be i16le u24be u32be u32le i32be i32le, and {crc16modbus}.
