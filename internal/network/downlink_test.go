package network

import (
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

func TestLinkCheckAndDeviceTime(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	gpsTime := time.Date(2026, 1, 15, 6, 29, 59, 500_000_000, time.UTC)
	tests := []struct {
		name  string
		fport *uint8
		fopts bool
	}{
		{"in FOpts", port(2), true},
		{"in FRMPayload on port 0", port(0), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := []lorawan.Payload{&lorawan.MACCommand{CID: lorawan.LinkCheckReq}, &lorawan.MACCommand{CID: lorawan.DeviceTimeReq}}
			f := abpFrame(d, uint32(i), []byte{0xaa})
			f.fport = tt.fport
			if tt.fopts {
				f.fopts = cmds
			} else {
				f.payload = nil
				f.fport = port(0)
				var raw []byte
				for _, c := range cmds {
					b, err := c.MarshalBinary()
					require.NoError(t, err)
					raw = append(raw, b...)
				}
				f.payload = raw
			}
			r1 := rx(gw1, 5, 1000)
			r1.DataRate = "SF9BW125"
			r1.Time = &gpsTime
			r2 := rx(gw2, -3, 2000)
			r2.DataRate = "SF9BW125"
			before := len(e.tx.all())
			e.deliver(f.bytes(t), r1, r2)
			dls := e.tx.all()
			require.Len(t, dls, before+1)
			_, mac := decodeDown(t, dls[before].PHYPayload, d.NwkSKey, d.AppSKey)
			require.Len(t, mac.FHDR.FOpts, 2)
			lc := mac.FHDR.FOpts[0].(*lorawan.MACCommand)
			require.Equal(t, lorawan.LinkCheckAns, lc.CID)
			lca := lc.Payload.(*lorawan.LinkCheckAnsPayload)
			assert.Equal(t, uint8(17), lca.Margin, "5 dB SNR - (-12.5 dB) required at SF9")
			assert.Equal(t, uint8(2), lca.GwCnt)
			dt := mac.FHDR.FOpts[1].(*lorawan.MACCommand)
			require.Equal(t, lorawan.DeviceTimeAns, dt.CID)
			dta := dt.Payload.(*lorawan.DeviceTimeAnsPayload)
			// 2026-01-15T06:29:59.5Z is 1452493817 GPS seconds (18 leap seconds) + 128/256.
			assert.Equal(t, 1452493817*time.Second+500*time.Millisecond, dta.TimeSinceGPSEpoch)
		})
	}
	ups := e.up.all()
	require.Len(t, ups, 1, "port 0 MAC-only frames are not handed on")
}

func TestClassAQueue(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.DownlinkQueueSize = 2 })
	id1, err := e.s.EnqueueDownlink(d.DevEUI, 20, []byte{0x01, 0x00}, false)
	require.NoError(t, err)
	_, err = e.s.EnqueueDownlink(d.DevEUI, 21, []byte{0x02}, false)
	require.NoError(t, err)
	_, err = e.s.EnqueueDownlink(d.DevEUI, 22, []byte{0x03}, false)
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, float64(1), testutil.ToFloat64(e.s.m.queueDropped))
	_, err = e.s.EnqueueDownlink(lorawan.EUI64{9}, 1, nil, false)
	require.ErrorIs(t, err, ErrUnknownDevice)
	assert.NotEmpty(t, id1)

	e.s.sendClassC(e.ctx) // a Class A device is not sent to without an uplink
	assert.Empty(t, e.tx.all())

	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw1, 1, 50))
	dls := e.tx.all()
	require.Len(t, dls, 1)
	assert.Equal(t, uint32(50+1_000_000), dls[0].Tmst)
	_, mac := decodeDown(t, dls[0].PHYPayload, d.NwkSKey, d.AppSKey)
	require.NotNil(t, mac.FPort)
	assert.Equal(t, uint8(20), *mac.FPort)
	assert.Equal(t, []byte{0x01, 0x00}, mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
	assert.True(t, mac.FHDR.FCtrl.FPending, "one more item queued")
	assert.False(t, mac.FHDR.FCtrl.ACK)

	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t), rx(gw1, 1, 60))
	dls = e.tx.all()
	require.Len(t, dls, 2)
	_, mac = decodeDown(t, dls[1].PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint8(21), *mac.FPort)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt)
	assert.False(t, mac.FHDR.FCtrl.FPending)

	e.deliver(abpFrame(d, 3, []byte{1}).bytes(t))
	assert.Len(t, e.tx.all(), 2, "queue empty: no downlink")
}

func TestConfirmedDownlinkRetriedUntilACK(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t)) // no ACK bit: sent again
	f := abpFrame(d, 3, []byte{1})
	f.ack = true
	e.deliver(f.bytes(t))
	dls := e.tx.all()
	require.Len(t, dls, 2)
	for i, dl := range dls {
		down, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
		assert.Equal(t, lorawan.ConfirmedDataDown, down.MHDR.MType)
		assert.Equal(t, uint32(i), mac.FHDR.FCnt)
	}
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, 0, info.QueueLen)
}

func TestClassCImmediate(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	e := newEnv(t, []device.Device{d}, nil)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 30, []byte{0xc1}, false)
	require.NoError(t, err)
	e.s.sendClassC(e.ctx)
	assert.Empty(t, e.tx.all(), "no gateway known before the first uplink")

	// The first uplink carries the queued item in RX1 like Class A.
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw3, 2, 10))
	require.Len(t, e.tx.all(), 1)

	_, err = e.s.EnqueueDownlink(d.DevEUI, 31, []byte{0xc2, 0xc3}, false)
	require.NoError(t, err)
	e.s.sendClassC(e.ctx)
	require.Len(t, e.tx.all(), 1, "held off while RX1/RX2 of the uplink may be in use")
	e.clock.Advance(classCHoldoff)
	e.s.sendClassC(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 2)
	dl := dls[1]
	assert.True(t, dl.Immediately)
	assert.Equal(t, gw3, dl.GatewayID)
	assert.Equal(t, uint32(869525000), dl.Frequency)
	assert.Equal(t, "SF12BW125", dl.DataRate)
	assert.True(t, dl.InvertPolarity)
	_, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint8(31), *mac.FPort)
	assert.Equal(t, []byte{0xc2, 0xc3}, mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt)

	e.restart()
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, uint32(2), info.NFCntDown, "NFCntDown persisted")
}

func TestQueuedPayloadWaitsForDataRate(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	big := make([]byte, 100)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 9, big, false)
	require.NoError(t, err)
	slow := rx(gw1, 1, 10)
	slow.DataRate = "SF12BW125" // 51 bytes at most
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), slow)
	assert.Empty(t, e.tx.all())
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, 1, info.QueueLen)

	fast := rx(gw1, 1, 20)
	fast.DataRate = "SF7BW125"
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t), fast)
	assert.Empty(t, e.tx.all(), "RX2 at SF12 still limits the payload")
}

func TestQueuedPayloadFits(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	// An ABP session keeps the band's RX2 at DR0: 51 bytes fit.
	_, err := e.s.EnqueueDownlink(d.DevEUI, 9, make([]byte, 51), false)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	require.Len(t, e.tx.all(), 1)
}
