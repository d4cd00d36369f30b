package mac

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
)

// layouts holds one example per command the MAC-layer issue names, with
// the bytes written from the LoRaWAN 1.0.4 specification (section 5), not
// from the library: CID first, multi-byte fields little endian,
// frequencies in units of 100 Hz.
var layouts = []struct {
	name   string
	uplink bool
	bytes  []byte
	cmd    lorawan.MACCommand
}{
	{"LinkCheckReq", true, []byte{0x02}, lorawan.MACCommand{CID: lorawan.LinkCheckReq}},
	// Margin 20 dB above the demodulation floor, received by 3 gateways.
	{"LinkCheckAns", false, []byte{0x02, 0x14, 0x03}, lorawan.MACCommand{CID: lorawan.LinkCheckAns, Payload: &lorawan.LinkCheckAnsPayload{Margin: 20, GwCnt: 3}}},
	// DataRate_TXPower: DR in bits 7:4, TXPower in 3:0; ChMask little
	// endian (channels 1-3); Redundancy: RFU 7, ChMaskCntl 6:4, NbTrans 3:0.
	{"LinkADRReq", false, []byte{0x03, 0x52, 0x07, 0x00, 0x01}, lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{
		DataRate: 5, TXPower: 2, ChMask: lorawan.ChMask{true, true, true}, Redundancy: lorawan.Redundancy{NbRep: 1},
	}}},
	{"LinkADRReq ChMaskCntl 6 NbTrans 3", false, []byte{0x03, 0x07, 0x00, 0x80, 0x63}, lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{
		DataRate: 0, TXPower: 7, ChMask: lorawan.ChMask{15: true}, Redundancy: lorawan.Redundancy{ChMaskCntl: 6, NbRep: 3},
	}}},
	// Status: bit 2 power ACK, bit 1 data rate ACK, bit 0 channel mask ACK.
	{"LinkADRAns all", true, []byte{0x03, 0x07}, lorawan.MACCommand{CID: lorawan.LinkADRAns, Payload: &lorawan.LinkADRAnsPayload{ChannelMaskACK: true, DataRateACK: true, PowerACK: true}}},
	{"LinkADRAns data rate refused", true, []byte{0x03, 0x05}, lorawan.MACCommand{CID: lorawan.LinkADRAns, Payload: &lorawan.LinkADRAnsPayload{ChannelMaskACK: true, PowerACK: true}}},
	// DutyCyclePL: RFU 7:4, MaxDCycle 3:0 (aggregate duty cycle 1/2^7).
	{"DutyCycleReq", false, []byte{0x04, 0x07}, lorawan.MACCommand{CID: lorawan.DutyCycleReq, Payload: &lorawan.DutyCycleReqPayload{MaxDCycle: 7}}},
	{"DutyCycleAns", true, []byte{0x04}, lorawan.MACCommand{CID: lorawan.DutyCycleAns}},
	// DLsettings: RFU 7, RX1DRoffset 6:4, RX2DataRate 3:0; then 869.525 MHz
	// as 8695250 = 0x84ADD2.
	{"RXParamSetupReq", false, []byte{0x05, 0x13, 0xd2, 0xad, 0x84}, lorawan.MACCommand{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{
		Frequency: 869525000, DLSettings: lorawan.DLSettings{RX1DROffset: 1, RX2DataRate: 3},
	}}},
	// Status: bit 2 RX1DRoffset ACK, bit 1 RX2 data rate ACK, bit 0 channel ACK.
	{"RXParamSetupAns", true, []byte{0x05, 0x06}, lorawan.MACCommand{CID: lorawan.RXParamSetupAns, Payload: &lorawan.RXParamSetupAnsPayload{RX2DataRateACK: true, RX1DROffsetACK: true}}},
	{"DevStatusReq", false, []byte{0x06}, lorawan.MACCommand{CID: lorawan.DevStatusReq}},
	// Battery 254 (full); margin a 6-bit signed integer: -5 = 0b111011.
	{"DevStatusAns negative margin", true, []byte{0x06, 0xfe, 0x3b}, lorawan.MACCommand{CID: lorawan.DevStatusAns, Payload: &lorawan.DevStatusAnsPayload{Battery: 254, Margin: -5}}},
	{"DevStatusAns", true, []byte{0x06, 0x80, 0x14}, lorawan.MACCommand{CID: lorawan.DevStatusAns, Payload: &lorawan.DevStatusAnsPayload{Battery: 128, Margin: 20}}},
	// ChIndex 3, 867.1 MHz = 8671000 = 0x844F18, DrRange MaxDR 7:4 MinDR 3:0.
	{"NewChannelReq", false, []byte{0x07, 0x03, 0x18, 0x4f, 0x84, 0x50}, lorawan.MACCommand{CID: lorawan.NewChannelReq, Payload: &lorawan.NewChannelReqPayload{
		ChIndex: 3, Freq: 867100000, MinDR: 0, MaxDR: 5,
	}}},
	// Status: bit 1 data rate range OK, bit 0 channel frequency OK.
	{"NewChannelAns", true, []byte{0x07, 0x03}, lorawan.MACCommand{CID: lorawan.NewChannelAns, Payload: &lorawan.NewChannelAnsPayload{ChannelFrequencyOK: true, DataRateRangeOK: true}}},
	// Settings: RFU 7:4, Del 3:0 in seconds.
	{"RXTimingSetupReq", false, []byte{0x08, 0x05}, lorawan.MACCommand{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: 5}}},
	{"RXTimingSetupAns", true, []byte{0x08}, lorawan.MACCommand{CID: lorawan.RXTimingSetupAns}},
	{"DeviceTimeReq", true, []byte{0x0d}, lorawan.MACCommand{CID: lorawan.DeviceTimeReq}},
	// Seconds since the GPS epoch (1234567890 = 0x499602D2) then 1/256 s steps.
	{"DeviceTimeAns", false, []byte{0x0d, 0xd2, 0x02, 0x96, 0x49, 0x80}, lorawan.MACCommand{CID: lorawan.DeviceTimeAns, Payload: &lorawan.DeviceTimeAnsPayload{
		TimeSinceGPSEpoch: 1234567890*time.Second + 500*time.Millisecond,
	}}},
	// LoRaWAN 1.1 ADRparam: Limit_exp 7:4, Delay_exp 3:0.
	{"ADRParamSetupReq", false, []byte{0x0c, 0x65}, lorawan.MACCommand{CID: lorawan.ADRParamSetupReq, Payload: &lorawan.ADRParamSetupReqPayload{ADRParam: lorawan.ADRParam{LimitExp: 6, DelayExp: 5}}}},
	{"ADRParamSetupAns", true, []byte{0x0c}, lorawan.MACCommand{CID: lorawan.ADRParamSetupAns}},
}

func TestLayouts(t *testing.T) {
	for _, tt := range layouts {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.bytes) {
				t.Fatalf("marshal = % x, spec % x", got, tt.bytes)
			}
			parse := ParseDownlink
			if tt.uplink {
				parse = ParseUplink
			}
			cmds, err := parse(tt.bytes)
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], tt.cmd) {
				t.Fatalf("parse = %+v, want %+v", cmds, tt.cmd)
			}
			if !tt.uplink {
				packed, fits, err := Pack([]lorawan.MACCommand{tt.cmd})
				if err != nil || !fits || !bytes.Equal(packed, tt.bytes) {
					t.Fatalf("Pack = % x, %v, %v", packed, fits, err)
				}
			}
		})
	}
}

// TestLengthsMatchLibrary keeps the length tables in step with the
// library's payload registry, which Parse relies on for the types.
func TestLengthsMatchLibrary(t *testing.T) {
	for uplink, table := range map[bool]map[lorawan.CID]int{true: uplinkLen, false: downlinkLen} {
		for cid, n := range table {
			_, size, err := lorawan.GetMACPayloadAndSize(uplink, cid)
			if n == 0 {
				if err == nil && size != 0 {
					t.Errorf("uplink=%v %s: library size %d, table 0", uplink, cid, size)
				}
				continue
			}
			if err != nil || size != n {
				t.Errorf("uplink=%v %s: library size %d (%v), table %d", uplink, cid, size, err, n)
			}
		}
	}
}

func TestParseUplinkStream(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []lorawan.CID
		wantErr error
	}{
		{"empty", nil, nil, nil},
		{"three commands", []byte{0x02, 0x03, 0x07, 0x06, 0xff, 0x00, 0x0d}, []lorawan.CID{lorawan.LinkCheckReq, lorawan.LinkADRAns, lorawan.DevStatusAns, lorawan.DeviceTimeReq}, nil},
		{"answers to a full setup", []byte{0x03, 0x07, 0x05, 0x07, 0x04, 0x08, 0x07, 0x03}, []lorawan.CID{lorawan.LinkADRAns, lorawan.RXParamSetupAns, lorawan.DutyCycleAns, lorawan.RXTimingSetupAns, lorawan.NewChannelAns}, nil},
		{"unknown CID stops", []byte{0x02, 0x01, 0x0d}, []lorawan.CID{lorawan.LinkCheckReq}, ErrUnknownCommand},
		{"proprietary CID stops", []byte{0x80, 0x02}, nil, ErrUnknownCommand},
		{"downlink CID in an uplink", []byte{0x0d, 0x0e}, []lorawan.CID{lorawan.DeviceTimeReq}, ErrUnknownCommand},
		{"truncated", []byte{0x02, 0x06, 0xff}, []lorawan.CID{lorawan.LinkCheckReq}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := ParseUplink(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var got []lorawan.CID
			for _, c := range cmds {
				got = append(got, c.CID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("CIDs = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseIgnoresRFU checks that reserved bits set by a device do not
// change the decoded values.
func TestParseIgnoresRFU(t *testing.T) {
	cmds, err := ParseUplink([]byte{0x06, 0x10, 0xfb, 0x03, 0xff})
	if err != nil {
		t.Fatal(err)
	}
	ds := cmds[0].Payload.(*lorawan.DevStatusAnsPayload)
	if ds.Margin != -5 {
		t.Fatalf("margin = %d, want -5", ds.Margin)
	}
	la := cmds[1].Payload.(*lorawan.LinkADRAnsPayload)
	if !la.ChannelMaskACK || !la.DataRateACK || !la.PowerACK {
		t.Fatalf("LinkADRAns = %+v", la)
	}
}

func TestPack(t *testing.T) {
	adr := lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{DataRate: 5, ChMask: lorawan.ChMask{true, true, true}, Redundancy: lorawan.Redundancy{NbRep: 1}}}
	status := lorawan.MACCommand{CID: lorawan.DevStatusReq}
	rxp := lorawan.MACCommand{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{Frequency: 869525000, DLSettings: lorawan.DLSettings{RX2DataRate: 3}}}
	newCh := lorawan.MACCommand{CID: lorawan.NewChannelReq, Payload: &lorawan.NewChannelReqPayload{ChIndex: 3, Freq: 867100000, MaxDR: 5}}

	tests := []struct {
		name    string
		cmds    []lorawan.MACCommand
		wantLen int
		fits    bool
		wantErr error
	}{
		{"nothing", nil, 0, true, nil},
		{"exactly 15 bytes", []lorawan.MACCommand{adr, rxp, status, status, status, status, status}, 15, true, nil},
		{"16 go on FPort 0", []lorawan.MACCommand{adr, rxp, newCh}, 16, false, nil},
		{"CID without a downlink meaning", []lorawan.MACCommand{{CID: lorawan.ResetInd}}, 0, false, ErrUnknownCommand},
		{"proprietary", []lorawan.MACCommand{{CID: 0x80}}, 0, false, ErrUnknownCommand},
		{"wrong payload type", []lorawan.MACCommand{{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRAnsPayload{}}}, 0, false, ErrPayload},
		{"missing payload", []lorawan.MACCommand{{CID: lorawan.LinkCheckAns}}, 0, false, ErrPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, fits, err := Pack(tt.cmds)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(b) != tt.wantLen || fits != tt.fits {
				t.Fatalf("Pack: %d bytes, fits %v; want %d, %v", len(b), fits, tt.wantLen, tt.fits)
			}
			back, err := ParseDownlink(b)
			if err != nil || len(back) != len(tt.cmds) {
				t.Fatalf("ParseDownlink of packed: %d commands, %v", len(back), err)
			}
		})
	}
}

func TestPackRejectsOutOfRange(t *testing.T) {
	_, _, err := Pack([]lorawan.MACCommand{{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{DataRate: 16}}})
	if err == nil {
		t.Fatal("DataRate 16 packed")
	}
}

func TestParseDownlinkIgnoresRFU(t *testing.T) {
	cmds, err := ParseDownlink([]byte{0x04, 0xf7, 0x08, 0xf5, 0x03, 0x52, 0x07, 0x00, 0x81})
	if err != nil {
		t.Fatal(err)
	}
	want := []lorawan.MACCommand{
		{CID: lorawan.DutyCycleReq, Payload: &lorawan.DutyCycleReqPayload{MaxDCycle: 7}},
		{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: 5}},
		{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{DataRate: 5, TXPower: 2, ChMask: lorawan.ChMask{true, true, true}, Redundancy: lorawan.Redundancy{NbRep: 1}}},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Fatalf("got %+v", cmds)
	}
}
