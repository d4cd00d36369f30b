package network

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// processJoin answers an OTAA join-request: it checks the device, the MIC
// and the DevNonce, commits the nonces, derives a new session and plans
// the join-accept.
func (s *Server) processJoin(e *dedupEntry, phy *lorawan.PHYPayload, b *batch) outcome {
	out := outcome{join: true}
	jr, ok := phy.MACPayload.(*lorawan.JoinRequestPayload)
	if !ok {
		out.join, out.result = false, resultDecodeError
		return out
	}
	out.devEUI = jr.DevEUI
	dev, js, result := s.checkJoinRequest(phy, jr)
	if result != "" {
		out.result = result
		return out
	}
	js.remember(jr.DevNonce)
	js.JoinNonce = (js.JoinNonce + 1) & 0xffffff
	b.joins[jr.DevEUI] = js
	b.mutations = true

	ss, jab, err := s.acceptJoin(dev, jr, lorawan.JoinNonce(js.JoinNonce), e.rx[0].GatewayID)
	if err != nil {
		out.result = joinError
		return out
	}
	s.addSession(ss, b)
	out.result = joinOK
	if p, ok := s.joinAcceptPlan(ss.DevEUI, e.rx[0], jab); ok {
		out.tx = append(out.tx, p)
	}
	return out
}

// checkJoinRequest finds the OTAA device, checks the MIC with its AppKey and
// refuses a DevNonce used before. A refused request returns its result.
func (s *Server) checkJoinRequest(phy *lorawan.PHYPayload, jr *lorawan.JoinRequestPayload) (device.Device, *joinState, string) {
	dev, ok := s.opts.Devices.Get(jr.DevEUI)
	var zero lorawan.EUI64
	if !ok || dev.Activation != device.OTAA || (dev.JoinEUI != zero && dev.JoinEUI != jr.JoinEUI) {
		return dev, nil, joinUnknownDevice
	}
	if ok, err := phy.ValidateUplinkJoinMIC(dev.AppKey); err != nil || !ok {
		return dev, nil, joinMICInvalid
	}
	js, err := s.joinState(jr.DevEUI)
	if err != nil {
		s.log.Error("join state", "dev_eui", jr.DevEUI.String(), "err", err)
		return dev, nil, joinError
	}
	if dev.MACVersion == "1.0.4" {
		// 1.0.4 devices count DevNonce up from 0 and keep it across resets.
		if js.HasNonce && jr.DevNonce <= js.LastNonce {
			return dev, nil, joinDevNonceReuse
		}
	} else if js.seen(jr.DevNonce) {
		return dev, nil, joinDevNonceReuse
	}
	return dev, js, ""
}

// acceptJoin derives the new session and encodes its join-accept.
func (s *Server) acceptJoin(dev device.Device, jr *lorawan.JoinRequestPayload, joinNonce lorawan.JoinNonce, gw lorawan.EUI64) (*session, []byte, error) {
	nwk, app, err := deriveSessionKeys(dev.AppKey, joinNonce, s.opts.NetID, jr.DevNonce)
	if err != nil {
		return nil, nil, err
	}
	ss := &session{
		DevEUI:      jr.DevEUI,
		DevAddr:     s.allocDevAddr(),
		NwkSKey:     nwk,
		AppSKey:     app,
		RX1DROffset: uint8(s.opts.RX1DROffset),
		RX2DR:       uint8(s.opts.RX2DataRate),
		RXDelay:     uint8(s.opts.RX1Delay / time.Second),
		Class:       classOf(dev),
		LastGateway: gw,
		LastSeen:    s.now(),
	}
	if s.cfList != nil {
		// The CFList of the join-accept gives the device the extra channels.
		ss.MAC.Channels = slices.Clone(s.opts.ExtraChannels)
	}
	ja := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinAccept, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinAcceptPayload{
			JoinNonce:  joinNonce,
			HomeNetID:  s.opts.NetID,
			DevAddr:    ss.DevAddr,
			DLSettings: lorawan.DLSettings{RX2DataRate: ss.RX2DR, RX1DROffset: ss.RX1DROffset},
			RXDelay:    ss.RXDelay,
			CFList:     s.cfList,
		},
	}
	if err := ja.SetDownlinkJoinMIC(lorawan.JoinRequestType, jr.JoinEUI, jr.DevNonce, dev.AppKey); err != nil {
		return nil, nil, fmt.Errorf("join-accept mic: %w", err)
	}
	if err := ja.EncryptJoinAcceptPayload(dev.AppKey); err != nil {
		return nil, nil, fmt.Errorf("encrypt join-accept: %w", err)
	}
	jab, err := ja.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("marshal join-accept: %w", err)
	}
	return ss, jab, nil
}

// joinAcceptPlan schedules the join-accept in the band's default windows:
// the device learns the new RX settings only from this frame.
func (s *Server) joinAcceptPlan(devEUI lorawan.EUI64, best uplink.RxInfo, jab []byte) (txPlan, bool) {
	def := s.band.GetDefaults()
	w, err := s.rxWindows(best, rxParams{
		rx1DROffset: 0,
		rx2DR:       def.RX2DataRate,
		rx2Freq:     def.RX2Frequency,
		rx1Delay:    s.opts.JoinAcceptDelay1,
	})
	if err != nil {
		if errors.Is(err, errUplinkDataRate) {
			s.log.Warn("no join-accept: unknown uplink data rate", "dev_eui", devEUI.String(), "data_rate", best.DataRate)
		}
		return txPlan{}, false
	}
	return w.plan("join_accept", devEUI, jab, nil), true
}

func (s *Server) joinState(eui lorawan.EUI64) (*joinState, error) {
	if js, ok := s.joins[eui]; ok {
		return js, nil
	}
	js, err := s.state.loadJoin(eui)
	if err != nil {
		return nil, err
	}
	s.joins[eui] = js
	return js, nil
}

// allocDevAddr draws a random DevAddr inside the NetID's NwkID prefix,
// avoiding addresses in use (a shared DevAddr would still work: sessions
// are told apart by MIC, at the cost of extra MIC computations).
func (s *Server) allocDevAddr() lorawan.DevAddr {
	if len(s.opts.DevAddrBlocks) > 0 {
		return s.allocBlockAddr(s.opts.DevAddrBlocks)
	}
	var a lorawan.DevAddr
	for range 16 {
		_, _ = rand.Read(a[:])
		a.SetAddrPrefix(s.opts.NetID)
		if len(s.byAddr[a]) == 0 {
			break
		}
	}
	return a
}

// deriveSessionKeys computes the LoRaWAN 1.0 session keys:
// aes128_encrypt(AppKey, 0x01|0x02 | AppNonce | NetID | DevNonce | pad16),
// each field little endian.
func deriveSessionKeys(appKey lorawan.AES128Key, joinNonce lorawan.JoinNonce, netID lorawan.NetID, devNonce lorawan.DevNonce) (nwk, app lorawan.AES128Key, err error) {
	block, err := aes.NewCipher(appKey[:])
	if err != nil {
		return nwk, app, fmt.Errorf("derive keys: %w", err)
	}
	var in [16]byte
	jn := uint32(joinNonce)
	in[1], in[2], in[3] = byte(jn), byte(jn>>8), byte(jn>>16)
	in[4], in[5], in[6] = netID[2], netID[1], netID[0]
	binary.LittleEndian.PutUint16(in[7:9], uint16(devNonce))
	in[0] = 0x01
	block.Encrypt(nwk[:], in[:])
	in[0] = 0x02
	block.Encrypt(app[:], in[:])
	return nwk, app, nil
}
