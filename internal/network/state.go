package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/brocaar/lorawan"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/secret"
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
	// kek, when set, seals the session keys in every record written.
	kek  *secret.KEK
	path string // set by OpenState
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
	st.own, st.path = true, path
	return st, nil
}

// NewState uses an already opened bbolt database; Close leaves it open.
func NewState(db *bolt.DB) (*BoltState, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSessions, bucketPrevSessions, bucketDevNonces, bucketWindows, bucketDownlinks, bucketDownlinkMeta} {
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

// Session records with sealed keys have version 2: the 32 key bytes of a
// version 1 record (NwkSKey, AppSKey) are replaced by their AES-GCM seal,
// bound to the DevEUI.
const (
	keysOff = 5
	keysEnd = 37
)

func (st *BoltState) seal(eui lorawan.EUI64, rec []byte) []byte {
	if st.kek == nil {
		return rec
	}
	out := make([]byte, 0, len(rec)+st.kek.Overhead())
	out = append(out, 2)
	out = append(out, rec[1:keysOff]...)
	out = append(out, st.kek.Seal(rec[keysOff:keysEnd], eui[:])...)
	return append(out, rec[keysEnd:]...)
}

func (st *BoltState) open(key, rec []byte) ([]byte, error) {
	if len(rec) == 0 || rec[0] != 2 {
		return rec, nil // version 1: plain keys (sealed at the next write when a KEK is set)
	}
	if st.kek == nil {
		return nil, errors.New("session keys are encrypted at rest: configure the key-encryption key")
	}
	sealedLen := keysEnd - keysOff + st.kek.Overhead()
	if len(rec) < sessionRecordLen+st.kek.Overhead() {
		return nil, errors.New("bad sealed session record")
	}
	keys, err := st.kek.Open(rec[keysOff:keysOff+sealedLen], key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, sessionRecordLen)
	out = append(out, 1)
	out = append(out, rec[1:keysOff]...)
	out = append(out, keys...)
	return append(out, rec[keysOff+sealedLen:]...), nil
}

// SetKEK seals the session keys of every record with k from now on and
// rewrites the stored records at once, so no plain key stays on disk.
func (st *BoltState) SetKEK(k *secret.KEK) error {
	old := st.kek
	st.kek = k
	plainFound := false
	err := st.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketSessions, bucketPrevSessions} {
			b := tx.Bucket(name)
			type kv struct{ k, v []byte }
			var recs []kv
			err := b.ForEach(func(k, v []byte) error {
				plain, err := st.open(k, v)
				if err != nil {
					return fmt.Errorf("session %x: %w", k, err)
				}
				if len(v) > 0 && v[0] != 2 {
					plainFound = true
				}
				recs = append(recs, kv{append([]byte(nil), k...), append([]byte(nil), plain...)})
				return nil
			})
			if err != nil {
				return err
			}
			for _, r := range recs {
				var eui lorawan.EUI64
				copy(eui[:], r.k)
				if err := b.Put(r.k, st.seal(eui, r.v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		st.kek = old
		return fmt.Errorf("seal stored sessions: %w", err)
	}
	if plainFound && st.own {
		// bbolt copies pages on write: the plain records still sit on free
		// pages. A compacted copy leaves them behind.
		return st.compact()
	}
	return nil
}

// compact rewrites the database file into a fresh one and swaps it in.
func (st *BoltState) compact() error {
	tmp := st.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("compact network state: %w", err)
	}
	if err := bolt.Compact(dst, st.db, 1<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("compact network state: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("compact network state: %w", err)
	}
	if err := st.db.Close(); err != nil {
		return fmt.Errorf("compact network state: %w", err)
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return fmt.Errorf("compact network state: %w", err)
	}
	db, err := bolt.Open(st.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("reopen network state: %w", err)
	}
	st.db = db
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
	// Signal of the best reception of the last uplink and how many
	// gateways heard it; kept in memory only (status, not state).
	LastRSSI     int
	LastSNR      float64
	LastGateways int
	// MAC is the MAC command engine's state of the session.
	MAC macState
	// Window marks the counters below FCntUp already accepted (bit i is
	// FCntUp-1-i); Undurable the accepted counters whose uplink is not yet
	// known to be stored (fcntwindow.go). Both are kept in their own bucket.
	Window    fcntBits
	Undurable []uint32
	// prev marks the session a device had before its latest join. It stays
	// valid until the new session's first uplink, so a join-accept the device
	// never got (or a replayed join-request) does not cut it off.
	prev bool
}

// sessionRecordLen is the fixed part of a session record; the MAC state
// follows it as JSON (absent in records written before the MAC engine).
const sessionRecordLen = 1 + 4 + 16 + 16 + 4 + 4 + 1 + 3 + 8 + 8

const (
	flagHasUp = 1 << iota
	flagABP
	flagReAcked
	flagClassC
)

func (ss *session) marshal() ([]byte, error) {
	tail, err := ss.MAC.marshalMAC()
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", ss.DevEUI, err)
	}
	b := make([]byte, sessionRecordLen, sessionRecordLen+len(tail))
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
	return append(b, tail...), nil
}

func (ss *session) unmarshal(key, b []byte) error {
	if len(key) != 8 || len(b) < sessionRecordLen || b[0] != 1 {
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
	return ss.MAC.unmarshalMAC(b[sessionRecordLen:])
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
				plain, err := st.open(k, v)
				if err != nil {
					return fmt.Errorf("session %x: %w", k, err)
				}
				if err := ss.unmarshal(k, plain); err != nil {
					return fmt.Errorf("session %x: %w", k, err)
				}
				if err := ss.loadWindow(tx); err != nil {
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
// previous sessions of dropPrev and the downlink queue changes, all in one
// transaction.
func (st *BoltState) commit(sessions []*session, joins map[lorawan.EUI64]*joinState, dropPrev []lorawan.EUI64, queue ...queueOp) error {
	if len(sessions) == 0 && len(joins) == 0 && len(dropPrev) == 0 && len(queue) == 0 {
		return nil
	}
	err := st.db.Update(func(tx *bolt.Tx) error {
		sb, pb := tx.Bucket(bucketSessions), tx.Bucket(bucketPrevSessions)
		for _, ss := range sessions {
			b := sb
			if ss.prev {
				b = pb
			}
			rec, err := ss.marshal()
			if err != nil {
				return err
			}
			if err := b.Put(ss.DevEUI[:], st.seal(ss.DevEUI, rec)); err != nil {
				return err
			}
			if err := ss.putWindow(tx); err != nil {
				return err
			}
		}
		for _, eui := range dropPrev {
			if err := pb.Delete(eui[:]); err != nil {
				return err
			}
			if err := tx.Bucket(bucketWindows).Delete(windowKey(eui, true)); err != nil {
				return err
			}
		}
		jb := tx.Bucket(bucketDevNonces)
		for eui, js := range joins {
			if err := jb.Put(eui[:], js.marshal()); err != nil {
				return err
			}
		}
		return applyQueueOps(tx, queue)
	})
	if err != nil {
		return fmt.Errorf("commit network state: %w", err)
	}
	return nil
}
