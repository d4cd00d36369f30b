package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// KV is a small durable key-value namespace in the store's bbolt file for
// other components (alert state, sessions). Every Put is one fsynced
// transaction.
type KV struct {
	db   *bolt.DB
	name []byte
}

// KV returns the namespace name, creating it on first write.
func (s *Store) KV(name string) *KV { return &KV{db: s.db, name: []byte(name)} }

// Get returns a copy of the value of key, or nil when absent.
func (k *KV) Get(key []byte) ([]byte, error) {
	var out []byte
	err := k.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket(k.name)
		if b == nil {
			return nil
		}
		if v := b.Get(key); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

// Put stores key durably.
func (k *KV) Put(key, value []byte) error {
	if len(key) == 0 {
		return errors.New("kv put: empty key")
	}
	err := k.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists(k.name)
		if err != nil {
			return err
		}
		return b.Put(key, value)
	})
	if err != nil {
		return fmt.Errorf("kv put: %w", err)
	}
	return nil
}

// Delete removes key.
func (k *KV) Delete(key []byte) error {
	return k.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketKV).Bucket(k.name); b != nil {
			return b.Delete(key)
		}
		return nil
	})
}

// ForEach calls fn for every key in order; the slices are only valid
// during the call.
func (k *KV) ForEach(fn func(key, value []byte) error) error {
	return k.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket(k.name)
		if b == nil {
			return nil
		}
		return b.ForEach(fn)
	})
}

// PutAll stores every pair in one transaction: all of them, or none.
func (k *KV) PutAll(pairs [][2][]byte) error {
	err := k.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists(k.name)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			if len(p[0]) == 0 {
				return errors.New("empty key")
			}
			if err := b.Put(p[0], p[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kv put all: %w", err)
	}
	return nil
}
