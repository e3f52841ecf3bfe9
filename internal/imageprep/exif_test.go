package imageprep

import "testing"

func TestJPEGOrientation(t *testing.T) {
	soi := []byte{0xff, 0xd8}
	app1 := func(p []byte) []byte { return insertAPP1(append(soi, 0xff, 0xd9), p) }
	long := exifPayload(6, false)
	long[6+22+2] = 4 // Type LONG; the value's low 16 bits stay 6 and the high ones 0.
	wrongCount := exifPayload(6, true)
	wrongCount[6+22+7] = 2
	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"little endian 6", app1(exifPayload(6, false)), 6},
		{"big endian 8", app1(exifPayload(8, true)), 8},
		{"big endian 3", app1(exifPayload(3, true)), 3},
		{"type LONG", app1(long), 6},
		{"count 2", app1(wrongCount), 1},
		{"no exif", append(soi, 0xff, 0xd9), 1},
		{"not a jpeg", []byte("GIF89a"), 1},
		{"empty", nil, 1},
		{"value 9", app1(exifPayload(9, false)), 1},
		{"fill bytes", append([]byte{0xff, 0xd8, 0xff}, app1(exifPayload(5, true))[2:]...), 5},
		{"xmp before exif", insertAPP1(app1(exifPayload(7, false)), []byte("http://ns.adobe.com/xap/1.0/\x00")), 7},
		{"after SOS", append(append(soi, 0xff, 0xda, 0, 2), app1(exifPayload(6, false))[2:]...), 1},
		{"segment length past the end", append(soi, 0xff, 0xe1, 0xff, 0xff, 'E'), 1},
		{"segment length 1", append(soi, 0xff, 0xe1, 0, 1), 1},
		{"garbage between segments", append(soi, 0x00, 0xff, 0xe1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jpegOrientation(tt.b); got != tt.want {
				t.Errorf("jpegOrientation = %d, want %d", got, tt.want)
			}
		})
	}
}
