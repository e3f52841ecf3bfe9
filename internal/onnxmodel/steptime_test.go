package onnxmodel

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/modelgen"
)

var (
	stepTimes = flag.String("steptimes", "", "print per-step times of a generated ResNet50 at `batch,threads` (e.g. 8,2)")
	stepWino  = flag.String("steptimes-wino", "", "with -steptimes, the minimum output `pixels4,pixels2` for Winograd F(4x4) and F(2x2)")
	stepModel = flag.String("steptimes-model", "", "with -steptimes, time this full-size zoo `model` (modelgen.ZooNames) instead of ResNet50")
)

// TestStepTimes is a measuring tool, not a check: with -steptimes it times
// every step of the full-size ResNet50 plan (best of five runs per step)
// and prints them grouped by kind, so that speed work can see where time
// goes. Without the flag it is skipped.
//
//	go test -run TestStepTimes -steptimes 8,2 -v ./internal/onnxmodel/
func TestStepTimes(t *testing.T) {
	if *stepTimes == "" {
		t.Skip("measuring tool; run with -steptimes batch,threads")
	}
	var batch, threads int
	if _, err := fmt.Sscanf(*stepTimes, "%d,%d", &batch, &threads); err != nil || batch < 1 || threads < 1 {
		t.Fatalf("-steptimes %q: want batch,threads", *stepTimes)
	}
	if *stepWino != "" {
		w4, w2 := wino4MinPixels, wino2MinPixels
		defer func() { wino4MinPixels, wino2MinPixels = w4, w2 }()
		if _, err := fmt.Sscanf(*stepWino, "%d,%d", &wino4MinPixels, &wino2MinPixels); err != nil {
			t.Fatalf("-steptimes-wino %q: want pixels4,pixels2", *stepWino)
		}
	}
	var file []byte
	var err error
	if *stepModel != "" {
		file, err = modelgen.GenerateZoo(*stepModel, modelgen.ZooOptions{Full: true})
	} else {
		file, err = modelgen.Generate(modelgen.Options{Variant: modelgen.VariantV1FoldedOpset13, InputSize: 224})
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(file, Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := m.plan(batch)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, batch*3*224*224)
	modelgen.Input(in, 1)
	rs := p.get()
	defer p.put(rs)
	rs.vals[p.inputs[0]].f = in
	if err := p.run(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	type row struct {
		kind string
		d    time.Duration
	}
	var rows []row
	var total time.Duration
	for si, s := range p.steps {
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			s.k(rs.x, rs.ins[si], rs.outs[si])
			best = min(best, time.Since(start))
		}
		kind := s.n.opType
		if cp, ok := stepConv(p, si); ok {
			kind = fmt.Sprintf("Conv %dx%d/s%d c=%d m=%d %dx%d %s", cp.kh, cp.kw, cp.sh, cp.c, cp.m, cp.oh, cp.ow, cp.algo)
		}
		rows = append(rows, row{kind, best})
		total += best
	}
	byKind := map[string]time.Duration{}
	count := map[string]int{}
	for _, r := range rows {
		byKind[r.kind] += r.d
		count[r.kind]++
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return byKind[kinds[i]] > byKind[kinds[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "batch %d, %d threads: %.1f ms per image in %d steps\n", batch, threads, ms(total)/float64(batch), len(rows))
	for _, k := range kinds {
		fmt.Fprintf(&b, "%8.2f ms/image %5.1f%% x%-2d %s\n", ms(byKind[k])/float64(batch), 100*float64(byKind[k])/float64(total), count[k], k)
	}
	t.Log("\n" + b.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stepConv returns the conv plan of step si, if it is a convolution.
func stepConv(p *plan, si int) (*convPlan, bool) {
	if p.steps[si].n.opType != "Conv" {
		return nil, false
	}
	cp, ok := p.convs[si]
	return cp, ok
}
