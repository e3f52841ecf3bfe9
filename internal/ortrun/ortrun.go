//go:build ort

package ortrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultLibrary is where the team's machines have the onnxruntime-node
// 1.30.0 package unpacked.
const DefaultLibrary = "/tmp/ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// ErrNoLibrary is returned when no ONNX Runtime shared library can be found.
var ErrNoLibrary = errors.New("ortrun: ONNX Runtime shared library not found (run scripts/install-ort.sh and set ORT_LIB)")

// ErrInput is returned by Run for missing, unknown or malformed inputs.
var ErrInput = errors.New("ortrun: bad input")

// FindLibrary returns the path of the ONNX Runtime shared library. A
// non-empty explicit path (typically $ORT_LIB) is used as is if the file
// exists; otherwise DefaultLibrary and the install-ort.sh cache directory
// ($ORT_DIR is not consulted here: pass the path explicitly instead) are
// tried in order. It returns ErrNoLibrary when none exists.
func FindLibrary(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoLibrary, err)
		}
		return explicit, nil
	}
	for _, p := range candidates() {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoLibrary
}

// candidates lists the default locations in lookup order.
func candidates() []string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	c := []string{DefaultLibrary}
	if home, err := os.UserHomeDir(); err == nil && arch != "" {
		c = append(c, filepath.Join(home, ".cache", "tlserve", "ort", "node_modules",
			"onnxruntime-node", "bin", "napi-v6", runtime.GOOS, arch, "libonnxruntime.so.1"))
	}
	return c
}

// env guards the process-wide ONNX Runtime environment.
var env struct {
	sync.Mutex
	lib string // library the environment was created with; "" before
}

// initEnv creates the ONNX Runtime environment on first use.
func initEnv(lib string) error {
	env.Lock()
	defer env.Unlock()
	if env.lib != "" {
		if env.lib != lib {
			return fmt.Errorf("ortrun: environment already uses %s, cannot switch to %s", env.lib, lib)
		}
		return nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("ortrun: initialize %s: %w", lib, err)
	}
	env.lib = lib
	return nil
}

// Version returns the version string of the loaded ONNX Runtime library, or
// "" before the first successful Open.
func Version() string {
	env.Lock()
	defer env.Unlock()
	if env.lib == "" {
		return ""
	}
	return ort.GetVersion()
}

// Options configures Open. The zero value runs on one intra-op thread with
// the library found by FindLibrary("") and fetches every graph output.
type Options struct {
	// Threads is the number of intra-op threads; 0 means 1.
	Threads int
	// Library is the shared library path; "" means FindLibrary("").
	Library string
	// Outputs names the outputs Run returns; nil means all graph outputs.
	Outputs []string
}

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Session is an ONNX Runtime inference session. Run may be called from
// several goroutines at once.
type Session struct {
	sess    *ort.DynamicAdvancedSession
	inputs  []string
	shapes  [][]int64 // declared input shapes, -1 for symbolic dimensions
	outputs []string
}

// Open loads the model at path into a new session. It returns ErrNoLibrary
// when the library is missing, and an error wrapping ONNX Runtime's message
// when the model is invalid or an output name is unknown.
func Open(path string, o Options) (*Session, error) {
	if o.Threads < 0 {
		return nil, fmt.Errorf("ortrun: threads must be >= 0, got %d", o.Threads)
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	lib, err := FindLibrary(o.Library)
	if err != nil {
		return nil, err
	}
	if err := initEnv(lib); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("ortrun: read %s: %w", path, err)
	}
	s := &Session{}
	for _, in := range ins {
		s.inputs = append(s.inputs, in.Name)
		s.shapes = append(s.shapes, slices.Clone([]int64(in.Dimensions)))
	}
	var all []string
	for _, out := range outs {
		all = append(all, out.Name)
	}
	s.outputs = all
	if o.Outputs != nil {
		for _, name := range o.Outputs {
			if !slices.Contains(all, name) {
				return nil, fmt.Errorf("ortrun: %s has no output %q (outputs: %v)", path, name, all)
			}
		}
		s.outputs = slices.Clone(o.Outputs)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ortrun: session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(o.Threads); err != nil {
		return nil, fmt.Errorf("ortrun: intra-op threads: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ortrun: inter-op threads: %w", err)
	}
	s.sess, err = ort.NewDynamicAdvancedSession(path, s.inputs, s.outputs, so)
	if err != nil {
		return nil, fmt.Errorf("ortrun: open %s: %w", path, err)
	}
	return s, nil
}

// InputNames returns the names of the graph inputs, in graph order.
func (s *Session) InputNames() []string { return slices.Clone(s.inputs) }

// InputShape returns the declared shape of the named input, with -1 for
// symbolic dimensions, or nil if there is no such input.
func (s *Session) InputShape(name string) []int64 {
	i := slices.Index(s.inputs, name)
	if i < 0 {
		return nil
	}
	return slices.Clone(s.shapes[i])
}

// OutputNames returns the names of the outputs Run returns.
func (s *Session) OutputNames() []string { return slices.Clone(s.outputs) }

// Run runs the model on float32 inputs keyed by input name and returns the
// outputs keyed by name. The input data is not modified. It returns an error
// wrapping ErrInput when an input is missing, unknown, or its data length
// does not match its shape, and ONNX Runtime's error when the run fails.
func (s *Session) Run(inputs map[string]Tensor) (map[string]Tensor, error) {
	for name := range inputs {
		if !slices.Contains(s.inputs, name) {
			return nil, fmt.Errorf("%w: unknown input %q", ErrInput, name)
		}
	}
	in := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range in {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, name := range s.inputs {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("%w: missing input %q", ErrInput, name)
		}
		shape := ort.NewShape(t.Shape...)
		if err := shape.Validate(); err != nil || shape.FlattenedSize() != int64(len(t.Data)) {
			return nil, fmt.Errorf("%w: input %q has %d values for shape %v", ErrInput, name, len(t.Data), t.Shape)
		}
		// NewTensor keeps a reference to the slice; give it a copy so the
		// caller's data is never aliased by C code.
		v, err := ort.NewTensor(shape, slices.Clone(t.Data))
		if err != nil {
			return nil, fmt.Errorf("ortrun: input %q: %w", name, err)
		}
		in[i] = v
	}
	out := make([]ort.Value, len(s.outputs))
	defer func() {
		for _, v := range out {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err := s.sess.Run(in, out); err != nil {
		return nil, fmt.Errorf("ortrun: run: %w", err)
	}
	res := make(map[string]Tensor, len(out))
	for i, v := range out {
		ft, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("ortrun: output %q is %T, want a float32 tensor", s.outputs[i], v)
		}
		res[s.outputs[i]] = Tensor{
			Shape: slices.Clone([]int64(ft.GetShape())),
			Data:  slices.Clone(ft.GetData()),
		}
	}
	return res, nil
}

// Close releases the session. The process-wide environment stays.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
