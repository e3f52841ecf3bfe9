package procstat

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, status string
		want         int
		err          error // nil: success; errNoMatter: any error
	}{
		{"typical", "Name:\tx\nVmPeak:\t  999999 kB\nVmHWM:\t  310272 kB\nVmRSS:\t 1 kB\n", 303, nil},
		{"rounds down", "VmHWM: 2047 kB\n", 1, nil},
		{"no unit", "VmHWM: 4096\n", 4, nil},
		{"missing", "Name:\tx\nVmRSS:\t 1 kB\n", 0, ErrNoFigure},
		{"garbled", "VmHWM: lots kB\n", 0, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := peakRSSMiB(strings.NewReader(tt.status))
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.err == errAny && err == nil, tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err):
				t.Fatalf("error %v, want %v", err, tt.err)
			case got != tt.want:
				t.Errorf("%d MiB, want %d", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestPeakRSSMiB(t *testing.T) {
	mb, err := PeakRSSMiB()
	if err != nil {
		t.Skipf("no /proc/self/status here: %v", err)
	}
	if mb < 1 {
		t.Errorf("PeakRSSMiB() = %d, want a positive figure for a running Go test", mb)
	}
}
