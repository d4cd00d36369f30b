package roaming

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/brocaar/lorawan"
)

// Block is a DevAddr block: the addresses whose first Bits bits equal
// Prefix's, written "01000000/12" like an IP prefix.
type Block struct {
	Prefix lorawan.DevAddr
	Bits   int
}

// ParseBlock reads "<8 hex digits>/<bits>".
func ParseBlock(s string) (Block, error) {
	p, n, ok := strings.Cut(s, "/")
	if !ok {
		return Block{}, fmt.Errorf("%q is not <devaddr>/<bits>, e.g. 01000000/12", s)
	}
	var b Block
	if err := b.Prefix.UnmarshalText([]byte(p)); err != nil {
		return Block{}, fmt.Errorf("%q: DevAddr prefix: %w", s, err)
	}
	bits, err := strconv.Atoi(n)
	if err != nil || bits < 1 || bits > 32 {
		return Block{}, fmt.Errorf("%q: prefix length must be 1..32", s)
	}
	b.Bits = bits
	if b.addr()&^b.mask() != 0 {
		return Block{}, fmt.Errorf("%q: bits set beyond the prefix length", s)
	}
	return b, nil
}

// UnmarshalText reads the form of ParseBlock.
func (b *Block) UnmarshalText(text []byte) error {
	v, err := ParseBlock(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText writes the form of ParseBlock.
func (b Block) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

func (b Block) String() string { return b.Prefix.String() + "/" + strconv.Itoa(b.Bits) }

func (b Block) addr() uint32 { return binary.BigEndian.Uint32(b.Prefix[:]) }

func (b Block) mask() uint32 { return ^uint32(0) << (32 - b.Bits) }

// Size is the number of addresses in the block.
func (b Block) Size() uint64 { return 1 << (32 - b.Bits) }

// Contains reports whether a lies in the block.
func (b Block) Contains(a lorawan.DevAddr) bool {
	return binary.BigEndian.Uint32(a[:])&b.mask() == b.addr()
}

// Overlaps reports whether the blocks share an address.
func (b Block) Overlaps(o Block) bool {
	m := b.mask()
	if o.Bits < b.Bits {
		m = o.mask()
	}
	return b.addr()&m == o.addr()&m
}

// At returns the i-th address of the block (i taken modulo its size).
func (b Block) At(i uint64) lorawan.DevAddr {
	var a lorawan.DevAddr
	binary.BigEndian.PutUint32(a[:], b.addr()|uint32(i%b.Size()))
	return a
}

// netIDPrefixBits is how many leading DevAddr bits a NetID of each type
// fixes: the type prefix (type+1 bits) and the NwkID (LoRaWAN Backend
// Interfaces, DevAddr assignment).
var netIDPrefixBits = [8]int{1 + 6, 2 + 6, 3 + 9, 4 + 11, 5 + 12, 6 + 13, 7 + 15, 8 + 17}

// InNetID reports whether every address of the block belongs to netID.
func (b Block) InNetID(netID lorawan.NetID) bool {
	return b.Bits >= netIDPrefixBits[netID.Type()] && b.Prefix.IsNetID(netID)
}
