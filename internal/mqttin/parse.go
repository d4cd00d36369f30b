package mqttin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/uplink"
	"github.com/loraedge/loraedge/internal/uplinkevent"
)

// Format names the JSON shape of an uplink topic.
type Format string

// Supported formats.
const (
	// ChirpStack is the ChirpStack v4 application integration "up" event
	// (application/<app>/device/<dev_eui>/event/up): deviceInfo.devEui,
	// fCnt, fPort, data (base64), rxInfo[], txInfo, time.
	ChirpStack Format = "chirpstack"
	// TTS is The Things Stack v3 uplink message (v3/<app>@<tenant>/devices/<id>/up):
	// end_device_ids.dev_eui, uplink_message.{f_port, f_cnt, frm_payload,
	// rx_metadata[], settings}, received_at.
	TTS Format = "tts"
	// LoRaEdge is another loraedge gateway's uplink event
	// (loraedge/<gateway>/device/<dev_eui>/uplink, uplinkevent.Event); it
	// needs the payload in the event (mqtt.uplink_payload, on by default).
	LoRaEdge Format = "loraedge"
)

// Parse errors, checked with errors.Is.
var (
	// ErrNotApplication marks frames without application payload (fPort 0
	// or none): MAC traffic, nothing to decode.
	ErrNotApplication = errors.New("not an application uplink")
	errFormat         = errors.New("unknown format")
)

// Parse turns one message payload of the given format into an Uplink.
func Parse(f Format, b []byte) (uplink.Uplink, error) {
	var up uplink.Uplink
	var err error
	switch f {
	case ChirpStack:
		up, err = parseChirpStack(b)
	case TTS:
		up, err = parseTTS(b)
	case LoRaEdge:
		var ev uplinkevent.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return up, err
		}
		up, err = ev.Uplink()
	default:
		return up, fmt.Errorf("%w %q", errFormat, f)
	}
	if err != nil {
		return up, err
	}
	if up.FPort == 0 {
		return up, ErrNotApplication
	}
	return up, nil
}

// flexUint reads a number written as a JSON number or a string (proto3
// JSON writes 64-bit integers as strings, e.g. TTS settings.frequency).
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an unsigned integer: %s", b)
	}
	*f = flexUint(v)
	return nil
}

type loraRate struct {
	Bandwidth       uint32 `json:"bandwidth"` // Hz
	SpreadingFactor int    `json:"spreadingFactor"`
	SpreadingFactr  int    `json:"spreading_factor"` // TTS spelling
}

func (l *loraRate) name() string {
	if l == nil {
		return ""
	}
	sf := l.SpreadingFactor
	if sf == 0 {
		sf = l.SpreadingFactr
	}
	if sf == 0 || l.Bandwidth == 0 {
		return ""
	}
	return fmt.Sprintf("SF%dBW%d", sf, l.Bandwidth/1000)
}

type csUp struct {
	Time       *time.Time `json:"time"`
	DeviceInfo struct {
		DevEUI string `json:"devEui"`
	} `json:"deviceInfo"`
	DevAddr   string `json:"devAddr"`
	ADR       bool   `json:"adr"`
	FCnt      uint32 `json:"fCnt"`
	FPort     uint8  `json:"fPort"`
	Confirmed bool   `json:"confirmed"`
	Data      []byte `json:"data"`
	RxInfo    []struct {
		GatewayID string     `json:"gatewayId"`
		RSSI      float64    `json:"rssi"`
		SNR       float64    `json:"snr"`
		Channel   uint8      `json:"channel"`
		RFChain   uint8      `json:"rfChain"`
		GwTime    *time.Time `json:"gwTime"`
		Time      *time.Time `json:"time"` // v4 before gwTime
		NsTime    *time.Time `json:"nsTime"`
	} `json:"rxInfo"`
	TxInfo struct {
		Frequency  flexUint `json:"frequency"`
		Modulation struct {
			LoRa *loraRate `json:"lora"`
		} `json:"modulation"`
	} `json:"txInfo"`
}

func parseChirpStack(b []byte) (uplink.Uplink, error) {
	var m csUp
	var up uplink.Uplink
	if err := json.Unmarshal(b, &m); err != nil {
		return up, err
	}
	if err := up.DevEUI.UnmarshalText([]byte(m.DeviceInfo.DevEUI)); err != nil {
		return up, fmt.Errorf("deviceInfo.devEui: %w", err)
	}
	if m.DevAddr != "" {
		if err := up.DevAddr.UnmarshalText([]byte(m.DevAddr)); err != nil {
			return up, fmt.Errorf("devAddr: %w", err)
		}
	}
	up.FCnt, up.FPort, up.Confirmed, up.ADR, up.Payload = m.FCnt, m.FPort, m.Confirmed, m.ADR, m.Data
	if m.TxInfo.Frequency > math.MaxUint32 {
		return up, errors.New("txInfo.frequency: out of range")
	}
	up.Frequency = uint32(m.TxInfo.Frequency)
	up.DataRate = m.TxInfo.Modulation.LoRa.name()
	for i, r := range m.RxInfo {
		rx := uplink.RxInfo{RSSI: int(math.Round(r.RSSI)), SNR: r.SNR, Channel: r.Channel, RFChain: r.RFChain,
			Frequency: up.Frequency, DataRate: up.DataRate}
		if r.GatewayID != "" {
			if err := rx.GatewayID.UnmarshalText([]byte(r.GatewayID)); err != nil {
				return up, fmt.Errorf("rxInfo[%d].gatewayId: %w", i, err)
			}
		}
		switch {
		case r.NsTime != nil:
			rx.ReceivedAt = *r.NsTime
		case m.Time != nil:
			rx.ReceivedAt = *m.Time
		}
		if t := firstTime(r.GwTime, r.Time); t != nil {
			rx.Time = t
		}
		up.RxInfo = append(up.RxInfo, rx)
	}
	sortRx(up.RxInfo)
	if m.Time != nil {
		up.Time = *m.Time
	} else {
		up.Time = bestTime(up.RxInfo)
	}
	return up, nil
}

type ttsUp struct {
	EndDeviceIDs struct {
		DevEUI  string `json:"dev_eui"`
		DevAddr string `json:"dev_addr"`
	} `json:"end_device_ids"`
	ReceivedAt    *time.Time `json:"received_at"`
	UplinkMessage *struct {
		FPort      uint8  `json:"f_port"`
		FCnt       uint32 `json:"f_cnt"`
		FRMPayload []byte `json:"frm_payload"`
		Confirmed  bool   `json:"confirmed"`
		RxMetadata []struct {
			GatewayIDs struct {
				EUI string `json:"eui"`
			} `json:"gateway_ids"`
			RSSI         float64    `json:"rssi"`
			ChannelRSSI  float64    `json:"channel_rssi"`
			SNR          float64    `json:"snr"`
			ChannelIndex uint8      `json:"channel_index"`
			Time         *time.Time `json:"time"`
			GPSTime      *time.Time `json:"gps_time"`
			ReceivedAt   *time.Time `json:"received_at"`
		} `json:"rx_metadata"`
		Settings struct {
			DataRate struct {
				LoRa *loraRate `json:"lora"`
			} `json:"data_rate"`
			Frequency flexUint `json:"frequency"`
		} `json:"settings"`
		ReceivedAt *time.Time `json:"received_at"`
	} `json:"uplink_message"`
}

func parseTTS(b []byte) (uplink.Uplink, error) {
	var m ttsUp
	var up uplink.Uplink
	if err := json.Unmarshal(b, &m); err != nil {
		return up, err
	}
	if m.UplinkMessage == nil {
		return up, errors.New("uplink_message: missing")
	}
	if err := up.DevEUI.UnmarshalText([]byte(m.EndDeviceIDs.DevEUI)); err != nil {
		return up, fmt.Errorf("end_device_ids.dev_eui: %w", err)
	}
	if m.EndDeviceIDs.DevAddr != "" {
		if err := up.DevAddr.UnmarshalText([]byte(m.EndDeviceIDs.DevAddr)); err != nil {
			return up, fmt.Errorf("end_device_ids.dev_addr: %w", err)
		}
	}
	u := m.UplinkMessage
	up.FCnt, up.FPort, up.Confirmed, up.Payload = u.FCnt, u.FPort, u.Confirmed, u.FRMPayload
	if u.Settings.Frequency > math.MaxUint32 {
		return up, errors.New("settings.frequency: out of range")
	}
	up.Frequency = uint32(u.Settings.Frequency)
	up.DataRate = u.Settings.DataRate.LoRa.name()
	for i, r := range u.RxMetadata {
		rssi := r.RSSI
		if rssi == 0 {
			rssi = r.ChannelRSSI
		}
		rx := uplink.RxInfo{RSSI: int(math.Round(rssi)), SNR: r.SNR, Channel: r.ChannelIndex,
			Frequency: up.Frequency, DataRate: up.DataRate, Time: r.GPSTime}
		if r.GatewayIDs.EUI != "" {
			if err := rx.GatewayID.UnmarshalText([]byte(r.GatewayIDs.EUI)); err != nil {
				return up, fmt.Errorf("rx_metadata[%d].gateway_ids.eui: %w", i, err)
			}
		}
		if t := firstTime(r.ReceivedAt, u.ReceivedAt, m.ReceivedAt); t != nil {
			rx.ReceivedAt = *t
		}
		up.RxInfo = append(up.RxInfo, rx)
	}
	sortRx(up.RxInfo)
	up.Time = bestTime(up.RxInfo)
	if up.Time.IsZero() {
		if t := firstTime(u.ReceivedAt, m.ReceivedAt); t != nil {
			up.Time = *t
		}
	}
	return up, nil
}

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return t
		}
	}
	return nil
}

// sortRx puts the best SNR first, as the network layer does.
func sortRx(rx []uplink.RxInfo) {
	sort.SliceStable(rx, func(i, j int) bool { return rx[i].SNR > rx[j].SNR })
}

// bestTime is the GPS time of the best reception that has one, else the
// earliest receive time.
func bestTime(rx []uplink.RxInfo) time.Time {
	for _, r := range rx {
		if r.Time != nil {
			return *r.Time
		}
	}
	var t time.Time
	for _, r := range rx {
		if !r.ReceivedAt.IsZero() && (t.IsZero() || r.ReceivedAt.Before(t)) {
			t = r.ReceivedAt
		}
	}
	return t
}
