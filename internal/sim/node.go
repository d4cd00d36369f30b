package sim

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/mac"
)

// node is the LoRaWAN side of one virtual end device: activation, session
// keys, frame counters, join-request and uplink construction, and downlink
// handling. It is safe for concurrent use: the device goroutine builds
// uplinks while gateway goroutines hand it downlinks.
type node struct {
	sd *simDevice

	mu        sync.Mutex
	joined    bool
	devAddr   lorawan.DevAddr
	nwkSKey   lorawan.AES128Key
	appSKey   lorawan.AES128Key
	fCntUp    uint32
	fCntDown  uint32 // next expected downlink counter
	gotDown   bool
	devNonce  uint16 // next DevNonce for 1.0.4 (counter)
	pending   *joinAttempt
	ackNext   bool // a confirmed downlink is acknowledged in the next uplink
	awaitAck  bool // our last confirmed uplink has not been acknowledged yet
	lastUp    time.Time
	joinedSig chan struct{}
	radio     radio
	meanSNR   float64 // towards the first gateway, for tests and status

	uplinks, joinRequests, joins, downlinks, acks, acksMissed, commands uint64
	macCommands, transmissions, transmissionsLost                       uint64
	airtime                                                             time.Duration
}

type joinAttempt struct {
	nonce  lorawan.DevNonce
	sentAt time.Time
}

// devNonceBase starts the LoRaWAN 1.0.4 DevNonce counter of a fresh run
// from wall-clock minutes, so that a daemon that remembers the last
// DevNonce from an earlier run still sees increasing values (a real device
// keeps the counter in non-volatile memory; the simulator has none).
func devNonceBase(now time.Time) uint16 {
	return uint16(now.Unix() / 60)
}

func newNode(sd *simDevice, now time.Time) *node {
	dr := sd.joinDR
	if sd.dev.Activation == device.ABP {
		dr = drIndex(sd.dataRate) // personalised: it starts where it was installed
	}
	n := &node{sd: sd, joinedSig: make(chan struct{}, 1), devNonce: devNonceBase(now),
		radio: newRadio(dr, !sd.noADR, sd.refuseChMask, sd.battery)}
	if sd.dev.Activation == device.ABP {
		n.joined = true
		n.devAddr = sd.dev.DevAddr
		n.nwkSKey = sd.dev.NwkSKey
		n.appSKey = sd.dev.AppSKey
	}
	return n
}

func (n *node) isJoined() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.joined
}

// joinRequest builds a join-request with a fresh DevNonce: a counter for
// LoRaWAN 1.0.4, random for earlier versions.
func (n *node) joinRequest(now time.Time) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var nonce lorawan.DevNonce
	if n.sd.dev.MACVersion == "1.0.4" {
		nonce = lorawan.DevNonce(n.devNonce)
		n.devNonce++
	} else {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("dev nonce: %w", err)
		}
		nonce = lorawan.DevNonce(binary.LittleEndian.Uint16(b[:]))
	}
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{
			JoinEUI:  n.sd.dev.JoinEUI,
			DevEUI:   n.sd.dev.DevEUI,
			DevNonce: nonce,
		},
	}
	if err := phy.SetUplinkJoinMIC(n.sd.dev.AppKey); err != nil {
		return nil, fmt.Errorf("join-request mic: %w", err)
	}
	b, err := phy.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal join-request: %w", err)
	}
	n.pending = &joinAttempt{nonce: nonce, sentAt: now}
	n.joinRequests++
	return b, nil
}

// dataUplink builds the next data frame.
func (n *node) dataUplink(fport uint8, payload []byte, confirmed bool, now time.Time) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.joined {
		return nil, errors.New("data uplink: not joined")
	}
	if n.awaitAck {
		// The previous confirmed uplink got no ACK. A real device would
		// retransmit; the simulator counts it and sends fresh data.
		n.acksMissed++
	}
	mtype := lorawan.UnconfirmedDataUp
	if confirmed {
		mtype = lorawan.ConfirmedDataUp
	}
	fctrl, fopts := n.radio.uplinkFCtrl()
	fctrl.ACK = n.ackNext
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR: lorawan.FHDR{
				DevAddr: n.devAddr,
				FCtrl:   fctrl,
				FCnt:    n.fCntUp,
				FOpts:   fopts,
			},
			FPort:      &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: payload}},
		},
	}
	if err := phy.EncryptFRMPayload(n.appSKey); err != nil {
		return nil, fmt.Errorf("encrypt uplink: %w", err)
	}
	if err := phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, n.nwkSKey, n.nwkSKey); err != nil {
		return nil, fmt.Errorf("uplink mic: %w", err)
	}
	b, err := phy.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal uplink: %w", err)
	}
	n.fCntUp++
	n.ackNext = false
	n.awaitAck = confirmed
	n.lastUp = now
	n.uplinks++
	return b, nil
}

// acceptJoin tries a join-accept against this node's pending join-request.
// It reports false (and changes nothing) when the frame is not for this
// node: the join-accept carries no address, only the AppKey opens it.
func (n *node) acceptJoin(raw []byte, now time.Time, maxAge time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sd.dev.Activation != device.OTAA || n.pending == nil || now.Sub(n.pending.sentAt) > maxAge {
		return false
	}
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(raw); err != nil {
		return false
	}
	if err := phy.DecryptJoinAcceptPayload(n.sd.dev.AppKey); err != nil {
		return false
	}
	ok, err := phy.ValidateDownlinkJoinMIC(lorawan.JoinRequestType, n.sd.dev.JoinEUI, n.pending.nonce, n.sd.dev.AppKey)
	if err != nil || !ok {
		return false
	}
	ja, ok := phy.MACPayload.(*lorawan.JoinAcceptPayload)
	if !ok {
		return false
	}
	nwk, app, err := deriveSessionKeys10(n.sd.dev.AppKey, ja.JoinNonce, ja.HomeNetID, n.pending.nonce)
	if err != nil {
		return false
	}
	n.joined = true
	n.devAddr = ja.DevAddr
	n.nwkSKey, n.appSKey = nwk, app
	n.fCntUp, n.fCntDown, n.gotDown = 0, 0, false
	n.ackNext, n.awaitAck = false, false
	n.radio.reset(n.sd.joinDR)
	n.radio.applyCFList(ja.CFList)
	n.radio.rx1DROffset, n.radio.rx2DR = int(ja.DLSettings.RX1DROffset), int(ja.DLSettings.RX2DataRate)
	n.radio.rxDelay = max(1, int(ja.RXDelay))
	n.pending = nil
	n.joins++
	select {
	case n.joinedSig <- struct{}{}:
	default:
	}
	return true
}

// deriveSessionKeys10 derives the LoRaWAN 1.0.x session keys:
// key = aes128_encrypt(AppKey, type | JoinNonce | NetID | DevNonce | pad16)
// with type 0x01 for NwkSKey and 0x02 for AppSKey, fields little-endian.
func deriveSessionKeys10(appKey lorawan.AES128Key, joinNonce lorawan.JoinNonce, netID lorawan.NetID, devNonce lorawan.DevNonce) (nwk, app lorawan.AES128Key, err error) {
	jn, err := joinNonce.MarshalBinary()
	if err != nil {
		return nwk, app, err
	}
	nid, err := netID.MarshalBinary()
	if err != nil {
		return nwk, app, err
	}
	dn, err := devNonce.MarshalBinary()
	if err != nil {
		return nwk, app, err
	}
	block, err := aes.NewCipher(appKey[:])
	if err != nil {
		return nwk, app, err
	}
	derive := func(typ byte) lorawan.AES128Key {
		var in, out [16]byte
		in[0] = typ
		copy(in[1:4], jn)
		copy(in[4:7], nid)
		copy(in[7:9], dn)
		block.Encrypt(out[:], in[:])
		return lorawan.AES128Key(out)
	}
	return derive(0x01), derive(0x02), nil
}

// downlinkResult says what a data downlink meant to this node.
type downlinkResult struct {
	ack         bool  // acknowledged our confirmed uplink
	fport       uint8 // 0: no application payload
	payload     []byte
	cmdError    error
	macCommands int   // MAC commands applied
	macErr      error // the command stream ended early
}

// handleData processes a data downlink addressed to this node's DevAddr,
// received with the given SNR. It reports false when the MIC does not
// match (another device with the same DevAddr, or a stale session) or the
// counter is replayed.
func (n *node) handleData(phy lorawan.PHYPayload, now time.Time, window time.Duration, snr float64) (downlinkResult, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var res downlinkResult
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok || !n.joined || mac.FHDR.DevAddr != n.devAddr {
		return res, false
	}
	if n.sd.dev.Class != device.ClassC && now.Sub(n.lastUp) > window {
		// Class A: only listening in the receive windows after an uplink.
		return res, false
	}
	// Reconstruct the 32-bit counter from the 16 bits on air.
	full := n.fCntDown&0xffff0000 | mac.FHDR.FCnt&0xffff
	if full < n.fCntDown {
		full += 0x10000
	}
	mac.FHDR.FCnt = full
	ok, err := phy.ValidateDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, n.nwkSKey)
	if err != nil || !ok {
		return res, false
	}
	if n.gotDown && full < n.fCntDown {
		return res, false
	}
	n.fCntDown, n.gotDown = full+1, true
	n.downlinks++
	if mac.FHDR.FCtrl.ACK && n.awaitAck {
		n.awaitAck = false
		n.acks++
		res.ack = true
	}
	if phy.MHDR.MType == lorawan.ConfirmedDataDown {
		n.ackNext = true
	}
	n.radio.downlinkReceived(snr)
	res.macCommands, res.macErr = n.macCommandsOf(&phy, mac)
	if mac.FPort != nil && *mac.FPort > 0 {
		if err := phy.DecryptFRMPayload(n.appSKey); err != nil {
			return res, true
		}
		res.fport = *mac.FPort
		for _, p := range mac.FRMPayload {
			if dp, ok := p.(*lorawan.DataPayload); ok {
				res.payload = append(res.payload, dp.Bytes...)
			}
		}
		if c, ok := n.sd.sensor.(commander); ok {
			res.cmdError = c.command(res.fport, res.payload)
			if res.cmdError == nil {
				n.commands++
			}
		}
	}
	return res, true
}

// macCommandsOf applies the MAC commands of a downlink, from FOpts or
// from an FPort 0 FRMPayload (encrypted with the NwkSKey). Commands before
// an unknown or truncated one are applied; the rest is lost, as the
// specification asks of a device.
func (n *node) macCommandsOf(phy *lorawan.PHYPayload, pl *lorawan.MACPayload) (int, error) {
	var raw []byte
	for _, p := range pl.FHDR.FOpts {
		b, err := p.MarshalBinary()
		if err != nil {
			return 0, fmt.Errorf("FOpts: %w", err)
		}
		raw = append(raw, b...)
	}
	if pl.FPort != nil && *pl.FPort == 0 {
		if len(raw) > 0 {
			return 0, errors.New("MAC commands in both FOpts and FPort 0")
		}
		// Encryption is its own inverse; DecryptFRMPayload would parse
		// the commands with the library's lengths, not ours.
		if err := phy.EncryptFRMPayload(n.nwkSKey); err != nil {
			return 0, fmt.Errorf("decrypt FPort 0: %w", err)
		}
		for _, p := range pl.FRMPayload {
			b, err := p.MarshalBinary()
			if err != nil {
				return 0, fmt.Errorf("FPort 0: %w", err)
			}
			raw = append(raw, b...)
		}
	}
	if len(raw) == 0 {
		return 0, nil
	}
	cmds, err := mac.ParseDownlink(raw)
	n.radio.handle(cmds)
	n.macCommands += uint64(len(cmds))
	return len(cmds), err
}

// txSetting picks the channel of the next transmission and returns the
// device's current data rate, power and NbTrans.
func (n *node) txSetting() txSetting {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, f := n.radio.nextChannel()
	return txSetting{dr: n.radio.dr, txPower: n.radio.txPower, nbTrans: n.radio.nbTrans, channel: ch, freqHz: f}
}

// joinSetting is the join-request's: the join data rate at full power on
// one of the default channels, in turn.
func (n *node) joinSetting() txSetting {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := int(n.joinRequests % uint64(len(defaultChannels)))
	return txSetting{dr: n.sd.joinDR, nbTrans: 1, channel: ch, freqHz: defaultChannels[ch]}
}

// setBattery takes the device's battery level for DevStatusAns.
func (n *node) setBattery(level uint8) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.radio.battery = level
}

func (n *node) recordTx(toa time.Duration, heard bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.transmissions++
	n.airtime += toa
	if !heard {
		n.transmissionsLost++
	}
}

// DeviceState is a snapshot of one simulated device for tests and status.
type DeviceState struct {
	DevEUI       lorawan.EUI64
	Name         string
	Profile      string
	Joined       bool
	DevAddr      lorawan.DevAddr
	FCntUp       uint32
	Uplinks      uint64
	JoinRequests uint64
	Joins        uint64
	Downlinks    uint64
	Acks         uint64
	AcksMissed   uint64
	Commands     uint64
	// ValveOpen is set for valve actuators only.
	ValveOpen *bool

	// The radio as LoRaWAN MAC commands left it.
	DR          int
	DataRate    string // e.g. "SF12BW125"
	TXPower     int    // index: 0 is full power, each step 2 dB less
	NbTrans     int
	ADR         bool
	ADRAckCnt   uint32   // uplinks since the last downlink
	Channels    []uint32 // enabled uplink frequencies, Hz
	RX1DROffset int
	RX2DR       int
	RX2FreqHz   uint32
	RXDelay     int // seconds
	MaxDCycle   uint8
	Battery     uint8 // as DevStatusAns reports it
	Margin      int8  // demodulation margin of the last downlink
	MACCommands uint64
	// Transmissions counts radio transmissions (NbTrans per frame),
	// TransmissionsLost those no gateway heard, Airtime their time on air.
	Transmissions     uint64
	TransmissionsLost uint64
	Airtime           time.Duration
	// MeanSNR is the link model's mean SNR at full power towards the
	// first gateway.
	MeanSNR float64
}

func (n *node) state() DeviceState {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := DeviceState{
		DevEUI: n.sd.dev.DevEUI, Name: n.sd.dev.Name, Profile: n.sd.dev.Profile,
		Joined: n.joined, DevAddr: n.devAddr, FCntUp: n.fCntUp,
		Uplinks: n.uplinks, JoinRequests: n.joinRequests, Joins: n.joins,
		Downlinks: n.downlinks, Acks: n.acks, AcksMissed: n.acksMissed, Commands: n.commands,
		DR: n.radio.dr, DataRate: n.radio.dataRate(), TXPower: n.radio.txPower, NbTrans: n.radio.nbTrans,
		ADR: n.radio.adr, ADRAckCnt: n.radio.adrAckCnt, Channels: n.radio.enabledChannels(),
		RX1DROffset: n.radio.rx1DROffset, RX2DR: n.radio.rx2DR, RX2FreqHz: n.radio.rx2FreqHz, RXDelay: n.radio.rxDelay,
		MaxDCycle: n.radio.maxDCycle, Battery: n.radio.battery, Margin: n.radio.margin, MACCommands: n.macCommands,
		Transmissions: n.transmissions, TransmissionsLost: n.transmissionsLost, Airtime: n.airtime, MeanSNR: n.meanSNR,
	}
	if v, ok := n.sd.sensor.(*valveActuator); ok {
		open := v.b.ValveOpen()
		s.ValveOpen = &open
	}
	return s
}
