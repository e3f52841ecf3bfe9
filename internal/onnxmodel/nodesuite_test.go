package onnxmodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// Tolerances of the ONNX backend test runner for node tests
// (onnx/backend/test/loader: rtol 1e-3, atol 1e-7), applied as
// numpy.testing.assert_allclose does: |got-want| <= atol + rtol*|want|.
const (
	nodeRtol = 1e-3
	nodeAtol = 1e-7
)

// errSkip marks a case that is not run, with the reason.
var errSkip = errors.New("skip")

func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSkip, fmt.Sprintf(format, args...))
}

// TestNodeSuite runs every ONNX node test whose operators are all
// registered. A case is skipped only for an operator tlserve does not have,
// a loader error wrapping ErrUnsupported, or test data of a type that
// cannot be fed; any other error or mismatch fails it.
func TestNodeSuite(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(refdata.NodeSuite(t), "test_*"))
	if err != nil || len(dirs) == 0 {
		t.Skipf("no ONNX node tests in %s (%v)", refdata.NodeSuiteDir, err)
	}
	passed, skipped := 0, 0
	reasons := map[string][]string{} // reason -> cases
	for _, dir := range dirs {
		name := filepath.Base(dir)
		var caseErr error
		ok := t.Run(strings.TrimPrefix(name, "test_"), func(t *testing.T) {
			caseErr = runNodeCase(t, dir)
			if errors.Is(caseErr, errSkip) {
				t.Skip(caseErr)
			}
			if caseErr != nil {
				t.Fatal(caseErr)
			}
		})
		switch {
		case errors.Is(caseErr, errSkip):
			skipped++
			r := summaryReason(caseErr)
			reasons[r] = append(reasons[r], name)
		case ok && caseErr == nil:
			passed++
		}
	}
	keys := make([]string, 0, len(reasons))
	for r := range reasons {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(a, b int) bool {
		if len(reasons[keys[a]]) != len(reasons[keys[b]]) {
			return len(reasons[keys[a]]) > len(reasons[keys[b]])
		}
		return keys[a] < keys[b]
	})
	for _, r := range keys {
		t.Logf("skipped %3d: %s", len(reasons[r]), r)
	}
	t.Logf("node suite: %d passed, %d skipped, %d failed, of %d cases", passed, skipped, len(dirs)-passed-skipped, len(dirs))
	if passed == 0 {
		t.Error("no node test passed")
	}
}

// summaryReason shortens a skip reason for the grouped summary: the
// operator name for unsupported operators, else the message without the
// node label.
func summaryReason(err error) string {
	s := strings.TrimPrefix(err.Error(), errSkip.Error()+": ")
	if i := strings.Index(s, " in node "); i >= 0 && strings.HasPrefix(s, "unsupported operator") {
		s = s[:i]
	}
	return s
}

// runNodeCase loads one node test and checks every data set in it. It
// returns an error wrapping errSkip when the case is not run.
func runNodeCase(t *testing.T, dir string) error {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	pm, err := onnxpb.DecodeModel(b)
	if err != nil {
		return fmt.Errorf("decode model: %w", err)
	}
	if pm.Graph == nil {
		return fmt.Errorf("model has no graph")
	}
	var missing []string
	for _, n := range pm.Graph.Nodes {
		if _, ok := registry[n.OpType]; !ok && !slices.Contains(missing, n.OpType) {
			missing = append(missing, n.OpType)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return skipf("unsupported operator %s", strings.Join(missing, ", "))
	}
	m, err := Parse(b, Options{Threads: 2})
	if err != nil {
		if errors.Is(err, ErrUnsupported) {
			return skipf("loader: %v", err)
		}
		return fmt.Errorf("parse: %w", err)
	}
	defer m.Close()
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test data sets")
	}
	for _, set := range sets {
		if err := runNodeDataSet(m, pm, set); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(set), err)
		}
	}
	return nil
}

// runNodeDataSet feeds input_N.pb to the model and compares the outputs
// with output_N.pb.
func runNodeDataSet(m *Model, pm *onnxpb.Model, set string) error {
	inputs := map[string]*Tensor{}
	decls := m.Inputs()
	for k, d := range decls {
		pt, err := readTensorPB(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return err
		}
		in, err := feedTensor(pt, d.DType)
		if err != nil {
			return fmt.Errorf("input %d (%s): %w", k, d.Name, err)
		}
		inputs[d.Name] = in
	}
	if extra := filepath.Join(set, fmt.Sprintf("input_%d.pb", len(decls))); fileExists(extra) {
		return skipf("test data feeds more inputs than the %d non-constant graph inputs", len(decls))
	}
	got, err := m.Run(context.Background(), inputs)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	for k, o := range pm.Graph.Output {
		pt, err := readTensorPB(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
		if err != nil {
			return err
		}
		g := got[o.Name]
		if g == nil {
			return fmt.Errorf("output %d (%s) missing", k, o.Name)
		}
		if err := compareTensor(g, pt); err != nil {
			return fmt.Errorf("output %d (%s): %w", k, o.Name, err)
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readTensorPB(path string) (*onnxpb.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pt, err := onnxpb.DecodeTensor(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return pt, nil
}

// isFloatType reports whether an ONNX data type is read as float32.
func isFloatType(dt int32) bool {
	return dt == onnxpb.Float || dt == onnxpb.Float16 || dt == onnxpb.Double || dt == onnxpb.BFloat16
}

// isIntType reports whether an ONNX data type is read as int64.
func isIntType(dt int32) bool {
	switch dt {
	case onnxpb.Int64, onnxpb.Int32, onnxpb.Int16, onnxpb.Int8, onnxpb.Uint8,
		onnxpb.Uint16, onnxpb.Uint32, onnxpb.Uint64, onnxpb.Bool:
		return true
	}
	return false
}

// feedTensor converts test data into a Run input of the declared dtype.
func feedTensor(pt *onnxpb.Tensor, want DType) (*Tensor, error) {
	shape := make([]int, len(pt.Dims))
	for k, d := range pt.Dims {
		shape[k] = int(d)
	}
	switch {
	case want == Float32 && isFloatType(pt.DataType):
		f, err := pt.Float32s()
		if err != nil {
			return nil, err
		}
		return &Tensor{Shape: shape, Data: f}, nil
	case want == Int64 && isIntType(pt.DataType):
		i, err := pt.Int64s()
		if err != nil {
			return nil, err
		}
		return &Tensor{Shape: shape, Int64: i}, nil
	}
	return nil, skipf("input data type %d cannot be fed as %v", pt.DataType, want)
}

// compareTensor checks got against the expected tensor: same shape, integer
// and bool values exactly, floating values within the runner's tolerances.
func compareTensor(got *Tensor, want *onnxpb.Tensor) error {
	shape := make([]int, len(want.Dims))
	for k, d := range want.Dims {
		shape[k] = int(d)
	}
	if !equalShape(got.Shape, shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, shape)
	}
	switch {
	case isFloatType(want.DataType):
		w, err := want.Float32s()
		if err != nil {
			return err
		}
		if got.Data == nil && len(w) > 0 {
			return fmt.Errorf("got int64 values, want floating point")
		}
		if len(got.Data) != len(w) {
			return fmt.Errorf("%d values, want %d", len(got.Data), len(w))
		}
		bad, worst := 0, -1
		for k := range w {
			g, e := float64(got.Data[k]), float64(w[k])
			if g == e || math.IsNaN(g) && math.IsNaN(e) {
				continue
			}
			if !(math.Abs(g-e) <= nodeAtol+nodeRtol*math.Abs(e)) {
				bad++
				if worst < 0 {
					worst = k
				}
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d values differ; first at %d: got %g, want %g", bad, len(w), worst, got.Data[worst], w[worst])
		}
	case isIntType(want.DataType):
		w, err := want.Int64s()
		if err != nil {
			return err
		}
		if got.Int64 == nil && len(w) > 0 {
			return fmt.Errorf("got float values, want integers")
		}
		if len(got.Int64) != len(w) {
			return fmt.Errorf("%d values, want %d", len(got.Int64), len(w))
		}
		for k := range w {
			if got.Int64[k] != w[k] {
				return fmt.Errorf("value %d: got %d, want %d", k, got.Int64[k], w[k])
			}
		}
	default:
		return skipf("output data type %d cannot be compared", want.DataType)
	}
	return nil
}
