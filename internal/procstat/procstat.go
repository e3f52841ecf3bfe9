package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrNoFigure is returned when the status file has no VmHWM line.
var ErrNoFigure = errors.New("procstat: VmHWM not found")

// PeakRSSMiB returns the process's peak resident set size (VmHWM in
// /proc/self/status) in MiB, rounded down. It returns the error of opening
// the file where /proc is unavailable, and ErrNoFigure or a parse error
// when the file holds no readable VmHWM line.
func PeakRSSMiB() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return peakRSSMiB(f)
}

// peakRSSMiB parses the VmHWM line ("VmHWM:  123456 kB") out of a
// /proc/<pid>/status file.
func peakRSSMiB(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		if err != nil {
			return 0, fmt.Errorf("procstat: parse %q: %w", sc.Text(), err)
		}
		return kb / 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("procstat: read status: %w", err)
	}
	return 0, ErrNoFigure
}
