package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the log and the chunks of the store in dir without
// changing anything (for `loraedge store check`). The store must not be
// open. A torn tail is reported but is no error: Open truncates it. Damage
// elsewhere returns an error wrapping ErrCorrupt.
func Check(dir string) (Report, error) { return check(OSFS{}, dir, false) }

// Repair makes a damaged store openable again (for `loraedge store
// repair`): it cuts the log at the first bad record, moves later segments
// to wal/quarantine-<time>/ and deletes chunks that do not decode. What it
// changed is listed in Report.Actions.
func Repair(dir string) (Report, error) { return check(OSFS{}, dir, true) }

func check(fsys FS, dir string, repair bool) (Report, error) {
	var rep Report
	dbPath := filepath.Join(dir, "store.db")
	if _, err := os.Stat(dbPath); err != nil {
		return rep, fmt.Errorf("check store: %w", err)
	}
	db, err := bolt.Open(dbPath, 0o644, &bolt.Options{Timeout: time.Second, ReadOnly: !repair})
	if err != nil {
		return rep, fmt.Errorf("check store (is the daemon running?): %w", err)
	}
	defer db.Close()
	var sealed uint64
	var errs []error
	fn := db.View
	if repair {
		fn = db.Update
	}
	err = fn(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, fmt.Errorf("%w: bbolt: %w", ErrCorrupt, err))
		}
		if mb := tx.Bucket(bucketMeta); mb != nil {
			if v := mb.Get(keySealedSeq); len(v) == 8 {
				sealed = binary.BigEndian.Uint64(v)
			}
		}
		if sb := tx.Bucket(bucketSeries); sb != nil {
			rep.Series = sb.Stats().KeyN
		}
		for _, cs := range chunkSets(tx) {
			if err := checkChunks(cs, repair, &rep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("check store: %w", err)
	}
	mode := walCheck
	if repair {
		mode = walRepair
	}
	walDir := filepath.Join(dir, "wal")
	_, wrep, werr := scanWAL(fsys, walDir, sealed, mode, func(seq uint64, p []byte) error {
		rec, err := decodePayload(p)
		if err != nil {
			return err
		}
		rep.Points += len(rec.Measurements)
		return nil
	})
	rep.Segments, rep.Records, rep.FirstSeq, rep.LastSeq = wrep.Segments, wrep.Records, wrep.FirstSeq, wrep.LastSeq
	rep.TornTail, rep.TornBytes = wrep.TornTail, wrep.TornBytes
	rep.Corrupt = append(rep.Corrupt, wrep.Corrupt...)
	rep.Actions = append(rep.Actions, wrep.Actions...)
	if werr != nil {
		errs = append(errs, werr)
	}
	if !repair && rep.BadChunks > 0 {
		errs = append(errs, fmt.Errorf("%w: %d chunks do not decode", ErrCorrupt, rep.BadChunks))
	}
	return rep, errors.Join(errs...)
}

// checkChunks decodes every chunk of b, counting and reporting (with
// repair: deleting) those that do not decode.
func checkChunks(b chunkSet, repair bool, rep *Report) error {
	c := b.cursor()
	for k, v := c.First(); k != nil; {
		rep.Chunks++
		_, derr := decodeChunk(nil, v)
		if derr == nil && len(k) != 16 {
			derr = errors.New("bad key")
		}
		if derr == nil {
			k, v = c.Next()
			continue
		}
		rep.BadChunks++
		rep.Corrupt = append(rep.Corrupt, Corruption{Segment: "chunk " + fmt.Sprintf("%x", k), Reason: derr.Error()})
		if !repair {
			k, v = c.Next()
			continue
		}
		kc := append([]byte(nil), k...)
		if err := b.delete(kc); err != nil {
			return err
		}
		rep.Actions = append(rep.Actions, fmt.Sprintf("deleted chunk %x", kc))
		k, v = c.Seek(kc)
	}
	return nil
}
