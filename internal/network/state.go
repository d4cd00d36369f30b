package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
)

// Bucket names carry the package prefix because the bbolt file may be shared
// with other components (store, alert).
var (
	bucketSessions     = []byte("network_sessions")
	bucketPrevSessions = []byte("network_prev_sessions")
	bucketDevNonces    = []byte("network_devnonces")
)

// maxDevNonceHistory bounds the DevNonce history of a LoRaWAN 1.0.3 device:
// the oldest nonce is forgotten first.
const maxDevNonceHistory = 1024

// BoltState keeps sessions and DevNonce history in bbolt. Every commit is
// one fsync'd transaction.
type BoltState struct {
	db  *bolt.DB
	own bool
}

// OpenState opens (creating if needed) the bbolt file at path.
func OpenState(path string) (*BoltState, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open network state %s: %w", path, err)
	}
	st, err := NewState(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	st.own = true
	return st, nil
}

// NewState uses an already opened bbolt database; Close leaves it open.
func NewState(db *bolt.DB) (*BoltState, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSessions, bucketPrevSessions, bucketDevNonces} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("init network state: %w", err)
	}
	return &BoltState{db: db}, nil
}

// Close closes the database if OpenState opened it.
func (st *BoltState) Close() error {
	if !st.own {
		return nil
	}
	if err := st.db.Close(); err != nil {
		return fmt.Errorf("close network state: %w", err)
	}
	return nil
}

// session is the state of one activated device. The loop goroutine owns it.
type session struct {
	DevEUI      lorawan.EUI64
	DevAddr     lorawan.DevAddr
	NwkSKey     lorawan.AES128Key
	AppSKey     lorawan.AES128Key
	FCntUp      uint32 // last accepted uplink counter (valid when HasUp)
	HasUp       bool
	NFCntDown   uint32 // next downlink counter
	RX1DROffset uint8
	RX2DR       uint8
	RXDelay     uint8 // seconds, 0 means 1
	Class       device.Class
	ABP         bool
	// ReAcked is set once a retransmission of FCntUp was answered, so the
	// third copy is not answered again.
	ReAcked     bool
	LastGateway lorawan.EUI64
	LastSeen    time.Time
	// prev marks the session a device had before its latest join. It stays
	// valid until the new session's first uplink, so a join-accept the device
	// never got (or a replayed join-request) does not cut it off.
	prev bool
}

const sessionRecordLen = 1 + 4 + 16 + 16 + 4 + 4 + 1 + 3 + 8 + 8

const (
	flagHasUp = 1 << iota
	flagABP
	flagReAcked
	flagClassC
)

func (ss *session) marshal() []byte {
	b := make([]byte, sessionRecordLen)
	b[0] = 1 // record version
	copy(b[1:5], ss.DevAddr[:])
	copy(b[5:21], ss.NwkSKey[:])
	copy(b[21:37], ss.AppSKey[:])
	binary.BigEndian.PutUint32(b[37:41], ss.FCntUp)
	binary.BigEndian.PutUint32(b[41:45], ss.NFCntDown)
	var f byte
	if ss.HasUp {
		f |= flagHasUp
	}
	if ss.ABP {
		f |= flagABP
	}
	if ss.ReAcked {
		f |= flagReAcked
	}
	if ss.Class == device.ClassC {
		f |= flagClassC
	}
	b[45] = f
	b[46], b[47], b[48] = ss.RX1DROffset, ss.RX2DR, ss.RXDelay
	copy(b[49:57], ss.LastGateway[:])
	var seen int64
	if !ss.LastSeen.IsZero() {
		seen = ss.LastSeen.UnixNano()
	}
	binary.BigEndian.PutUint64(b[57:65], uint64(seen))
	return b
}

func (ss *session) unmarshal(key, b []byte) error {
	if len(key) != 8 || len(b) != sessionRecordLen || b[0] != 1 {
		return errors.New("bad session record")
	}
	copy(ss.DevEUI[:], key)
	copy(ss.DevAddr[:], b[1:5])
	copy(ss.NwkSKey[:], b[5:21])
	copy(ss.AppSKey[:], b[21:37])
	ss.FCntUp = binary.BigEndian.Uint32(b[37:41])
	ss.NFCntDown = binary.BigEndian.Uint32(b[41:45])
	f := b[45]
	ss.HasUp = f&flagHasUp != 0
	ss.ABP = f&flagABP != 0
	ss.ReAcked = f&flagReAcked != 0
	ss.Class = device.ClassA
	if f&flagClassC != 0 {
		ss.Class = device.ClassC
	}
	ss.RX1DROffset, ss.RX2DR, ss.RXDelay = b[46], b[47], b[48]
	copy(ss.LastGateway[:], b[49:57])
	if n := int64(binary.BigEndian.Uint64(b[57:65])); n != 0 {
		ss.LastSeen = time.Unix(0, n)
	}
	return nil
}

// joinState is the OTAA join history of one device.
type joinState struct {
	HasNonce  bool
	LastNonce lorawan.DevNonce // most recent accepted DevNonce
	JoinNonce uint32           // last JoinNonce (AppNonce) sent; 24 bits
	Nonces    []uint16         // accepted DevNonces, oldest first, bounded
}

func (js *joinState) seen(n lorawan.DevNonce) bool {
	for _, v := range js.Nonces {
		if v == uint16(n) {
			return true
		}
	}
	return false
}

func (js *joinState) remember(n lorawan.DevNonce) {
	js.HasNonce = true
	js.LastNonce = n
	if len(js.Nonces) >= maxDevNonceHistory {
		copy(js.Nonces, js.Nonces[1:])
		js.Nonces = js.Nonces[:len(js.Nonces)-1]
	}
	js.Nonces = append(js.Nonces, uint16(n))
}

func (js *joinState) marshal() []byte {
	b := make([]byte, 1+1+2+4+2*len(js.Nonces))
	b[0] = 1
	if js.HasNonce {
		b[1] = 1
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(js.LastNonce))
	binary.BigEndian.PutUint32(b[4:8], js.JoinNonce)
	for i, n := range js.Nonces {
		binary.BigEndian.PutUint16(b[8+2*i:], n)
	}
	return b
}

func (js *joinState) unmarshal(b []byte) error {
	if len(b) < 8 || b[0] != 1 || (len(b)-8)%2 != 0 {
		return errors.New("bad devnonce record")
	}
	js.HasNonce = b[1] == 1
	js.LastNonce = lorawan.DevNonce(binary.BigEndian.Uint16(b[2:4]))
	js.JoinNonce = binary.BigEndian.Uint32(b[4:8])
	js.Nonces = make([]uint16, 0, (len(b)-8)/2)
	for i := 8; i < len(b); i += 2 {
		js.Nonces = append(js.Nonces, binary.BigEndian.Uint16(b[i:]))
	}
	return nil
}

func (st *BoltState) loadSessions() ([]*session, error) {
	var out []*session
	err := st.db.View(func(tx *bolt.Tx) error {
		for _, bucket := range [][]byte{bucketSessions, bucketPrevSessions} {
			prev := bytes.Equal(bucket, bucketPrevSessions)
			err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				ss := &session{prev: prev}
				if err := ss.unmarshal(k, v); err != nil {
					return fmt.Errorf("session %x: %w", k, err)
				}
				out = append(out, ss)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load sessions: %w", err)
	}
	return out, nil
}

func (st *BoltState) loadJoin(devEUI lorawan.EUI64) (*joinState, error) {
	js := &joinState{}
	err := st.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDevNonces).Get(devEUI[:])
		if v == nil {
			return nil
		}
		return js.unmarshal(v)
	})
	if err != nil {
		return nil, fmt.Errorf("load devnonces %s: %w", devEUI, err)
	}
	return js, nil
}

// commit writes the given sessions and join histories and deletes the
// previous sessions of dropPrev, all in one transaction.
func (st *BoltState) commit(sessions []*session, joins map[lorawan.EUI64]*joinState, dropPrev []lorawan.EUI64) error {
	if len(sessions) == 0 && len(joins) == 0 && len(dropPrev) == 0 {
		return nil
	}
	err := st.db.Update(func(tx *bolt.Tx) error {
		sb, pb := tx.Bucket(bucketSessions), tx.Bucket(bucketPrevSessions)
		for _, ss := range sessions {
			b := sb
			if ss.prev {
				b = pb
			}
			if err := b.Put(ss.DevEUI[:], ss.marshal()); err != nil {
				return err
			}
		}
		for _, eui := range dropPrev {
			if err := pb.Delete(eui[:]); err != nil {
				return err
			}
		}
		jb := tx.Bucket(bucketDevNonces)
		for eui, js := range joins {
			if err := jb.Put(eui[:], js.marshal()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit network state: %w", err)
	}
	return nil
}
