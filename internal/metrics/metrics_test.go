package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tlserve/tlserve/internal/metrics"
)

// families gathers reg and returns the metric families by name.
func families(t *testing.T, reg *prometheus.Registry) map[string]int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := make(map[string]int, len(mfs))
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	return got
}

func TestMetricsFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ObserveRequest("/predict", "POST", 200, 30*time.Millisecond)
	m.AddInFlight(1)
	m.RequestShed("/predict")
	for _, s := range []string{"decode", "preprocess", "backbone", "head"} {
		m.ObserveStage(s, time.Millisecond)
	}
	m.AddPredictions("imagenet", 2)
	m.ObserveJob("succeeded", 3*time.Second)
	m.SetQueueLength(4)
	m.AddEmbeddings(5, 6)
	m.SetBackbone("squeezenet", "abc", 224, 512)

	got := families(t, reg)
	tests := []struct {
		name   string
		series int
	}{
		{"tlserve_http_request_duration_seconds", 1},
		{"tlserve_http_requests_in_flight", 1},
		{"tlserve_http_requests_shed_total", 1},
		{"tlserve_inference_stage_duration_seconds", 4},
		{"tlserve_predictions_total", 1},
		{"tlserve_finetune_jobs_total", 1},
		{"tlserve_finetune_job_duration_seconds", 1},
		{"tlserve_finetune_queue_length", 1},
		{"tlserve_embeddings_total", 2},
		{"tlserve_backbone_info", 1},
		{"go_goroutines", 1},
		{"process_start_time_seconds", 1},
		{"go_build_info", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, ok := got[tt.name]; !ok || n != tt.series {
				t.Errorf("family %s: %d series (present %v), want %d", tt.name, n, ok, tt.series)
			}
		})
	}
}

func TestMetricsValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.AddPredictions("fashion", 3)
	m.AddPredictions("fashion", 2)
	m.AddEmbeddings(7, 1)
	m.AddEmbeddings(0, 4)
	m.SetQueueLength(9)
	m.SetQueueLength(2)
	m.AddInFlight(1)
	m.AddInFlight(1)
	m.AddInFlight(-1)
	m.SetBackbone("old", "1", 1, 1)
	m.SetBackbone("squeezenet", "2", 224, 512)

	want := `
# HELP tlserve_backbone_info Information about the loaded backbone; the value is always 1.
# TYPE tlserve_backbone_info gauge
tlserve_backbone_info{embedding_dim="512",id="2",input_size="224",name="squeezenet"} 1
# HELP tlserve_embeddings_total Fine-tune image embeddings, by result: computed by the backbone or reused from the cache.
# TYPE tlserve_embeddings_total counter
tlserve_embeddings_total{result="computed"} 7
tlserve_embeddings_total{result="reused"} 5
# HELP tlserve_finetune_queue_length Fine-tune jobs waiting in the queue.
# TYPE tlserve_finetune_queue_length gauge
tlserve_finetune_queue_length 2
# HELP tlserve_http_requests_in_flight Number of HTTP requests being served.
# TYPE tlserve_http_requests_in_flight gauge
tlserve_http_requests_in_flight 1
# HELP tlserve_predictions_total Images classified, by model.
# TYPE tlserve_predictions_total counter
tlserve_predictions_total{model="fashion"} 5
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"tlserve_backbone_info", "tlserve_embeddings_total", "tlserve_finetune_queue_length",
		"tlserve_http_requests_in_flight", "tlserve_predictions_total")
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewTwiceOnOneRegistryPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("second New on the same registry did not panic")
		}
	}()
	metrics.New(reg)
}

func TestSeparateRegistries(t *testing.T) {
	// Two servers in one process (as in tests) each get their own registry.
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	metrics.New(a).AddPredictions("imagenet", 1)
	metrics.New(b)
	if n := testutil.CollectAndCount(a, "tlserve_predictions_total"); n != 1 {
		t.Errorf("registry a: %d prediction series, want 1", n)
	}
	if n := testutil.CollectAndCount(b, "tlserve_predictions_total"); n != 0 {
		t.Errorf("registry b: %d prediction series, want 0", n)
	}
}
