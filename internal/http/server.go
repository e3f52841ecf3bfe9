package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// ImageNet is the name of the backbone's own classifier, always present
// and never stored, deleted or fine-tuned.
const ImageNet = store.Reserved

// Backbone computes features of encoded images with the pretrained
// network. Errors about one image should wrap the imageprep sentinels, and
// may implement ImageIndex() int to say which image of the batch failed.
type Backbone interface {
	// Embed returns one embedding of Dim() floats per image.
	Embed(ctx context.Context, images [][]byte) ([][]float32, error)
	// Classify returns the backbone's own class probabilities per image,
	// indexed like Labels().
	Classify(ctx context.Context, images [][]byte) ([][]float32, error)
	// ID identifies the backbone (the SHA-256 of its model file).
	ID() string
	Name() string
	Dim() int
	Labels() []string
}

// Models is the store of fine-tuned heads. Unknown names fail with
// store.ErrNotFound.
type Models interface {
	// Active returns the active head of name. The caller keeps the
	// returned head for the whole request, so an activation meanwhile
	// does not disturb it.
	Active(name string) (*head.Head, store.VersionInfo, error)
	Models() ([]store.ModelInfo, error)
	Model(name string) (store.ModelInfo, error)
	Activate(name string, version int) error
	Delete(name string) error
}

// Jobs runs fine-tune jobs. Unknown ids fail with jobs.ErrNotFound and a
// full queue with jobs.ErrQueueFull.
type Jobs interface {
	Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error)
	Get(id string) (jobs.Job, error)
	List() []jobs.Job
	Cancel(id string) (jobs.Job, error)
}

// Observer receives the HTTP layer's measurements; *metrics.Metrics
// implements it.
type Observer interface {
	ObserveRequest(route, method string, code int, d time.Duration)
	AddInFlight(delta int)
	RequestShed(route string)
	ObserveStage(stage string, d time.Duration)
	AddPredictions(model string, n int)
}

// Defaults for the zero fields of Options.
const (
	DefaultPredictMaxBytes  int64 = 16 << 20
	DefaultFinetuneMaxBytes int64 = 512 << 20
	DefaultArchiveMaxBytes  int64 = 1 << 30
	DefaultMaxFiles               = 10000
	DefaultTopK                   = 5
)

// Options configures a Server. Backbone, Models and Jobs are required;
// every other zero field takes a safe default.
type Options struct {
	Backbone Backbone
	Models   Models
	Jobs     Jobs
	// Observer receives metrics; nil discards them.
	Observer Observer
	// Metrics serves GET /metrics (promhttp.HandlerFor on the server's
	// registry); nil answers 404 there.
	Metrics http.Handler
	// Logger receives the access log and internal errors; nil discards.
	Logger *slog.Logger

	// PredictMaxBytes bounds the body of /predict and /embed.
	PredictMaxBytes int64
	// FinetuneMaxBytes bounds the body of /finetune.
	FinetuneMaxBytes int64
	// ArchiveMaxBytes bounds the decompressed content of the archives of
	// one upload, all together.
	ArchiveMaxBytes int64
	// MaxFiles bounds the files of one upload, archive entries included.
	MaxFiles int
	// MaxInFlight bounds the concurrent /predict, /embed and /finetune
	// uploads; more are refused with 503. Default 4*GOMAXPROCS.
	MaxInFlight int
}

// Validate reports whether o is usable: the three dependencies are set and
// no limit is negative.
func (o Options) Validate() error {
	var errs []error
	if o.Backbone == nil {
		errs = append(errs, errors.New("Backbone is required"))
	}
	if o.Models == nil {
		errs = append(errs, errors.New("Models is required"))
	}
	if o.Jobs == nil {
		errs = append(errs, errors.New("Jobs is required"))
	}
	if o.PredictMaxBytes < 0 || o.FinetuneMaxBytes < 0 || o.ArchiveMaxBytes < 0 || o.MaxFiles < 0 || o.MaxInFlight < 0 {
		errs = append(errs, errors.New("limits must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("http: invalid options: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.PredictMaxBytes == 0 {
		o.PredictMaxBytes = DefaultPredictMaxBytes
	}
	if o.FinetuneMaxBytes == 0 {
		o.FinetuneMaxBytes = DefaultFinetuneMaxBytes
	}
	if o.ArchiveMaxBytes == 0 {
		o.ArchiveMaxBytes = DefaultArchiveMaxBytes
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 4 * runtime.GOMAXPROCS(0)
	}
	return o
}

// Server is tlserve's HTTP handler. Build it with NewServer and serve it
// with a net/http Server; it is safe for concurrent use.
type Server struct {
	o      Options
	obs    Observer
	logger *slog.Logger
	router chi.Router
}

// NewServer returns a Server for o. It returns an error if o is invalid.
func NewServer(o Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	s := &Server{o: o, obs: o.Observer, logger: o.Logger}
	s.router = s.routes()
	return s, nil
}

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(withRequestID, s.instrument, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, codeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
	})

	r.Get("/healthz", s.handleHealth)
	r.Get("/readyz", s.handleHealth)
	if s.o.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.o.Metrics)
	}

	shed := s.limitInFlight(s.o.MaxInFlight)
	r.Group(func(r chi.Router) {
		r.Use(shed, s.limitBody(s.o.PredictMaxBytes))
		r.Post("/predict", s.handlePredict)
		r.Post("/embed", s.handleEmbed)
	})
	r.Group(func(r chi.Router) {
		r.Use(shed, s.limitBody(s.o.FinetuneMaxBytes))
		r.Post("/finetune", s.handleFinetuneCreate)
	})
	r.Get("/finetune", s.handleFinetuneList)
	r.Get("/finetune/{id}", s.handleFinetuneGet)
	r.Delete("/finetune/{id}", s.handleFinetuneCancel)

	r.Get("/models", s.handleModelList)
	r.Get("/models/{name}", s.handleModelGet)
	r.Post("/models/{name}/activate", s.handleModelActivate)
	r.Delete("/models/{name}", s.handleModelDelete)
	return r
}

// ServeHTTP serves the tlserve API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// handleHealth answers the liveness and readiness probes. A Server exists
// only once the backbone loaded and warmed up (see Gate), so both are 200.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(string, string, int, time.Duration) {}
func (nopObserver) AddInFlight(int)                                   {}
func (nopObserver) RequestShed(string)                                {}
func (nopObserver) ObserveStage(string, time.Duration)                {}
func (nopObserver) AddPredictions(string, int)                        {}
