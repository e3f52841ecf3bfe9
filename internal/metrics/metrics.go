package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "tlserve"

// Metrics is the set of tlserve collectors. The zero value is not usable;
// build one with New. All methods are safe for concurrent use.
type Metrics struct {
	requestDuration *prometheus.HistogramVec
	inFlight        prometheus.Gauge
	shed            *prometheus.CounterVec
	stageDuration   *prometheus.HistogramVec
	predictions     *prometheus.CounterVec
	jobs            *prometheus.CounterVec
	jobDuration     prometheus.Histogram
	queueLength     prometheus.Gauge
	embeddings      *prometheus.CounterVec
	backboneInfo    *prometheus.GaugeVec
}

// New registers the tlserve collectors, plus the Go runtime and process
// collectors, on reg and returns them. It panics if reg already holds a
// collector with one of the same names, as prometheus.MustRegister does:
// that is a wiring bug, not a run-time condition.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "http_request_duration_seconds",
			Help:      "Duration of HTTP requests by route pattern, method and status code.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "http_requests_in_flight",
			Help:      "Number of HTTP requests being served.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "http_requests_shed_total",
			Help:      "Requests refused because too many were in flight, by route pattern.",
		}, []string{"route"}),
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "inference_stage_duration_seconds",
			Help:      "Duration of one inference stage (decode, preprocess, backbone, head) for one call.",
			Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"stage"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "predictions_total",
			Help:      "Images classified, by model.",
		}, []string{"model"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "finetune_jobs_total",
			Help:      "Fine-tune jobs finished, by final status.",
		}, []string{"status"}),
		jobDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "finetune_job_duration_seconds",
			Help:      "Wall time of finished fine-tune jobs, from start to final status.",
			Buckets:   prometheus.ExponentialBuckets(0.5, 2, 14), // 0.5s .. ~68min
		}),
		queueLength: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "finetune_queue_length",
			Help:      "Fine-tune jobs waiting in the queue.",
		}),
		embeddings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "embeddings_total",
			Help:      "Fine-tune image embeddings, by result: computed by the backbone or reused from the cache.",
		}, []string{"result"}),
		backboneInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "backbone_info",
			Help:      "Information about the loaded backbone; the value is always 1.",
		}, []string{"name", "id", "input_size", "embedding_dim"}),
	}
	reg.MustRegister(
		m.requestDuration, m.inFlight, m.shed, m.stageDuration, m.predictions,
		m.jobs, m.jobDuration, m.queueLength, m.embeddings, m.backboneInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	// Both results always appear, so a rate over "reused" is defined before
	// the first cache hit.
	m.embeddings.WithLabelValues("computed")
	m.embeddings.WithLabelValues("reused")
	return m
}

// ObserveRequest records one finished HTTP request. route is the chi route
// pattern (never the raw path, to bound cardinality).
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requestDuration.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// AddInFlight adds delta (+1 or -1) to the in-flight request gauge.
func (m *Metrics) AddInFlight(delta int) { m.inFlight.Add(float64(delta)) }

// RequestShed counts one request refused by the in-flight limit.
func (m *Metrics) RequestShed(route string) { m.shed.WithLabelValues(route).Inc() }

// ObserveStage records the duration of one inference stage: "decode",
// "preprocess", "backbone" or "head".
func (m *Metrics) ObserveStage(stage string, d time.Duration) {
	m.stageDuration.WithLabelValues(stage).Observe(d.Seconds())
}

// AddPredictions counts n images classified by model.
func (m *Metrics) AddPredictions(model string, n int) {
	m.predictions.WithLabelValues(model).Add(float64(n))
}

// ObserveJob records a fine-tune job that reached its final status
// ("succeeded", "failed" or "canceled") after running for d.
func (m *Metrics) ObserveJob(status string, d time.Duration) {
	m.jobs.WithLabelValues(status).Inc()
	m.jobDuration.Observe(d.Seconds())
}

// SetQueueLength sets the number of queued fine-tune jobs.
func (m *Metrics) SetQueueLength(n int) { m.queueLength.Set(float64(n)) }

// AddEmbeddings counts fine-tune embeddings computed by the backbone and
// reused from the cache.
func (m *Metrics) AddEmbeddings(computed, reused int) {
	m.embeddings.WithLabelValues("computed").Add(float64(computed))
	m.embeddings.WithLabelValues("reused").Add(float64(reused))
}

// SetBackbone publishes the loaded backbone's identity in the info gauge,
// replacing any earlier one.
func (m *Metrics) SetBackbone(name, id string, inputSize, embeddingDim int) {
	m.backboneInfo.Reset()
	m.backboneInfo.WithLabelValues(name, id, strconv.Itoa(inputSize), strconv.Itoa(embeddingDim)).Set(1)
}
