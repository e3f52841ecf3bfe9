package imageprep

import (
	"bytes"
	"encoding/binary"
)

// orientationTag is the EXIF (TIFF) tag that holds the orientation.
const orientationTag = 0x0112

// jpegOrientation returns the EXIF orientation, 1 to 8, of the JPEG file in
// b. It returns 1 (upright) when the file has no EXIF block, no orientation
// tag, or one that cannot be read: a damaged EXIF block must not make an
// otherwise good photograph unusable.
func jpegOrientation(b []byte) int {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	i := 2
	for i+2 <= len(b) {
		if b[i] != 0xff {
			return 1
		}
		marker := b[i+1]
		i += 2
		switch {
		case marker == 0xff: // A fill byte before the marker byte.
			i--
			continue
		case marker == 0x01 || marker == 0xd8 || marker >= 0xd0 && marker <= 0xd7:
			continue // Markers without a length field.
		case marker == 0xd9 || marker == 0xda:
			return 1 // EOI or start of scan: the metadata segments are over.
		}
		if i+2 > len(b) {
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return 1
		}
		if marker == 0xe1 {
			if o, ok := exifOrientation(b[i+2 : i+n]); ok {
				return o
			}
		}
		i += n
	}
	return 1
}

// exifOrientation reads the orientation from the payload of an APP1
// segment. ok is false when the segment is not EXIF (XMP also lives in
// APP1); for an EXIF segment without a valid orientation it returns 1, true.
func exifOrientation(seg []byte) (o int, ok bool) {
	const header = "Exif\x00\x00"
	if !bytes.HasPrefix(seg, []byte(header)) {
		return 0, false
	}
	t := seg[len(header):] // The TIFF structure; offsets are relative to it.
	if len(t) < 8 {
		return 1, true
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1, true
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 1, true
	}
	count := uint64(bo.Uint16(t[off:]))
	for k := range count {
		e := off + 2 + 12*k
		if e+12 > uint64(len(t)) {
			return 1, true
		}
		entry := t[e : e+12 : e+12]
		if bo.Uint16(entry) != orientationTag {
			continue
		}
		if bo.Uint32(entry[4:]) != 1 {
			return 1, true
		}
		var v uint32
		switch bo.Uint16(entry[2:]) {
		case 3: // SHORT, as the standard requires.
			v = uint32(bo.Uint16(entry[8:]))
		case 4: // LONG, written by some broken encoders.
			v = bo.Uint32(entry[8:])
		default:
			return 1, true
		}
		if v < 1 || v > 8 {
			return 1, true
		}
		return int(v), true
	}
	return 1, true
}
