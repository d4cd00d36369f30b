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

	uplinks, joinRequests, joins, downlinks, acks, acksMissed, commands uint64
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
	n := &node{sd: sd, joinedSig: make(chan struct{}, 1), devNonce: devNonceBase(now)}
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
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR: lorawan.FHDR{
				DevAddr: n.devAddr,
				FCtrl:   lorawan.FCtrl{ACK: n.ackNext},
				FCnt:    n.fCntUp,
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
	ack      bool  // acknowledged our confirmed uplink
	fport    uint8 // 0: no application payload
	payload  []byte
	cmdError error
}

// handleData processes a data downlink addressed to this node's DevAddr.
// It reports false when the MIC does not match (another device with the
// same DevAddr, or a stale session) or the counter is replayed.
func (n *node) handleData(phy lorawan.PHYPayload, now time.Time, window time.Duration) (downlinkResult, bool) {
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
}

func (n *node) state() DeviceState {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := DeviceState{
		DevEUI: n.sd.dev.DevEUI, Name: n.sd.dev.Name, Profile: n.sd.dev.Profile,
		Joined: n.joined, DevAddr: n.devAddr, FCntUp: n.fCntUp,
		Uplinks: n.uplinks, JoinRequests: n.joinRequests, Joins: n.joins,
		Downlinks: n.downlinks, Acks: n.acks, AcksMissed: n.acksMissed, Commands: n.commands,
	}
	if v, ok := n.sd.sensor.(*valveActuator); ok {
		open := v.b.ValveOpen()
		s.ValveOpen = &open
	}
	return s
}
