package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Key identifies an image by the SHA-256 of its encoded bytes.
type Key [sha256.Size]byte

// KeyOf returns the key of an encoded image.
func KeyOf(image []byte) Key { return sha256.Sum256(image) }

// String returns the key in hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey parses a hex key as returned by Key.String.
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, fmt.Errorf("store: bad image key %q", s)
	}
	copy(k[:], b)
	return k, nil
}

// ErrBadBackboneID is returned for a backbone identity that cannot be used
// as a directory name.
var ErrBadBackboneID = errors.New("store: invalid backbone id")

var backboneRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$`)

// Segment file layout, little endian:
//
//	magic "TLEMB001" | dim uint32 | count uint32 |
//	count keys [32]byte | count CRC-32 (IEEE) of each vector's bytes |
//	count vectors of dim float32
//
// A segment is written once under a temporary name and renamed, so it is
// complete or absent; the per-vector CRC catches later corruption, which
// is reported as a cache miss.
const segMagic = "TLEMB001"

type loc struct {
	seg *segment
	idx int
}

type segment struct {
	path  string
	dim   int
	count int
	crcs  []uint32
}

func (g *segment) offset(i int) int64 {
	return int64(16+g.count*36) + int64(i)*int64(g.dim)*4
}

type backboneCache struct {
	dim   int
	index map[Key]loc
}

type embeddings struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex
	caches map[string]*backboneCache
}

func (e *embeddings) init(dir string, log *slog.Logger) {
	e.dir, e.log, e.caches = dir, log, make(map[string]*backboneCache)
}

// cache returns the index for backbone id, reading the segment headers on
// first use. e.mu must be held.
func (e *embeddings) cache(id string) (*backboneCache, error) {
	if c, ok := e.caches[id]; ok {
		return c, nil
	}
	dir := filepath.Join(e.dir, id)
	if _, err := removeTemps(dir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c := &backboneCache{index: make(map[Key]loc)}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("store: %w", err)
	}
	for _, de := range entries {
		if !strings.HasSuffix(de.Name(), ".emb") {
			continue
		}
		p := filepath.Join(dir, de.Name())
		seg, keys, err := readSegmentHeader(p)
		if err == nil && c.dim != 0 && seg.dim != c.dim {
			err = fmt.Errorf("dimension %d, cache has %d", seg.dim, c.dim)
		}
		if err != nil {
			e.log.Warn("skipping unreadable embedding segment", "file", p, "err", err)
			continue
		}
		c.dim = seg.dim
		for i, k := range keys {
			c.index[k] = loc{seg: seg, idx: i}
		}
	}
	e.caches[id] = c
	return c, nil
}

func readSegmentHeader(path string) (*segment, []Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReader(f)
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if string(hdr[:8]) != segMagic {
		return nil, nil, errors.New("bad magic")
	}
	seg := &segment{path: path, dim: int(binary.LittleEndian.Uint32(hdr[8:])), count: int(binary.LittleEndian.Uint32(hdr[12:]))}
	if seg.dim <= 0 || seg.dim > 1<<20 || seg.offset(seg.count) != st.Size() {
		return nil, nil, fmt.Errorf("size %d does not match dim %d count %d", st.Size(), seg.dim, seg.count)
	}
	keys := make([]Key, seg.count)
	for i := range keys {
		if _, err := io.ReadFull(r, keys[i][:]); err != nil {
			return nil, nil, err
		}
	}
	seg.crcs = make([]uint32, seg.count)
	var b [4]byte
	for i := range seg.crcs {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, nil, err
		}
		seg.crcs[i] = binary.LittleEndian.Uint32(b[:])
	}
	return seg, keys, nil
}

func checkBackbone(id string) error {
	if !backboneRE.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrBadBackboneID, id)
	}
	return nil
}

// Embeddings looks keys up in the embedding cache of backbone id and
// returns one vector per key, nil where the cache has none. Embeddings of
// other backbones are never returned. A vector that fails its checksum is
// logged and reported missing.
func (s *Store) Embeddings(backboneID string, keys []Key) ([][]float32, error) {
	if err := checkBackbone(backboneID); err != nil {
		return nil, err
	}
	e := &s.emb
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.cache(backboneID)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(keys))
	files := make(map[*segment]*os.File)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	buf := make([]byte, c.dim*4)
	for i, k := range keys {
		l, ok := c.index[k]
		if !ok {
			continue
		}
		f := files[l.seg]
		if f == nil {
			if f, err = os.Open(l.seg.path); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
			files[l.seg] = f
		}
		if _, err := f.ReadAt(buf, l.seg.offset(l.idx)); err != nil {
			return nil, fmt.Errorf("store: read embedding: %w", err)
		}
		if crc32.ChecksumIEEE(buf) != l.seg.crcs[l.idx] {
			e.log.Warn("embedding failed its checksum, recomputing", "file", l.seg.path, "key", k.String())
			delete(c.index, k)
			continue
		}
		v := make([]float32, c.dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		}
		out[i] = v
	}
	return out, nil
}

// PutEmbeddings adds vectors to the cache of backbone id, skipping keys
// already present, as one new immutable segment file. All vectors must
// have the same length, equal to that of the vectors already cached for
// this backbone.
func (s *Store) PutEmbeddings(backboneID string, keys []Key, vecs [][]float32) error {
	if err := checkBackbone(backboneID); err != nil {
		return err
	}
	if len(keys) != len(vecs) {
		return fmt.Errorf("store: %d keys for %d embeddings", len(keys), len(vecs))
	}
	e := &s.emb
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.cache(backboneID)
	if err != nil {
		return err
	}
	var newKeys []Key
	var newVecs [][]float32
	seen := make(map[Key]bool)
	for i, k := range keys {
		if _, ok := c.index[k]; ok || seen[k] {
			continue
		}
		want := c.dim
		if want == 0 && len(newVecs) > 0 {
			want = len(newVecs[0])
		}
		if dim := len(vecs[i]); dim == 0 || (want != 0 && dim != want) {
			return fmt.Errorf("store: embedding %s has dimension %d, want %d", k, dim, want)
		}
		seen[k] = true
		newKeys = append(newKeys, k)
		newVecs = append(newVecs, vecs[i])
	}
	if len(newKeys) == 0 {
		return nil
	}
	dir := filepath.Join(e.dir, backboneID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	seg, err := writeSegment(dir, newKeys, newVecs, s.beforeRename)
	if err != nil {
		return fmt.Errorf("store: write embeddings: %w", err)
	}
	c.dim = seg.dim
	for i, k := range newKeys {
		c.index[k] = loc{seg: seg, idx: i}
	}
	return nil
}

func writeSegment(dir string, keys []Key, vecs [][]float32, beforeRename func(string) error) (*segment, error) {
	dim := len(vecs[0])
	seg := &segment{dim: dim, count: len(keys), crcs: make([]uint32, len(keys))}
	name := fmt.Sprintf("seg-%020d-%s.emb", time.Now().UnixNano(), randomHex(4))
	seg.path = filepath.Join(dir, name)
	data := make([]byte, len(vecs)*dim*4)
	for i, v := range vecs {
		b := data[i*dim*4 : (i+1)*dim*4]
		for j, x := range v {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		seg.crcs[i] = crc32.ChecksumIEEE(b)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+name+"-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [16]byte
	copy(hdr[:], segMagic)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(dim))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(keys)))
	w.Write(hdr[:])
	for _, k := range keys {
		w.Write(k[:])
	}
	var b [4]byte
	for _, c := range seg.crcs {
		binary.LittleEndian.PutUint32(b[:], c)
		w.Write(b[:])
	}
	w.Write(data)
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && beforeRename != nil {
		if err = beforeRename(tmp); err != nil {
			return nil, err
		}
	}
	if err == nil {
		err = os.Rename(tmp, seg.path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return seg, syncDir(dir)
}
