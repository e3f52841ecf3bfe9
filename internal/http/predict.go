package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tlserve/tlserve/internal/head"
)

// prediction is one class of a /predict answer.
type prediction struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Score float32 `json:"score"`
}

// predictResponse answers POST /predict with a raw image body.
type predictResponse struct {
	Model       string       `json:"model"`
	Version     int          `json:"version"`
	Predictions []prediction `json:"predictions,omitempty"`
	Results     []fileResult `json:"results,omitempty"`
}

// fileResult is one file of a multipart /predict or /embed answer.
type fileResult struct {
	File        string       `json:"file"`
	Predictions []prediction `json:"predictions,omitempty"`
	Embedding   []float32    `json:"embedding,omitempty"`
}

// embedResponse answers POST /embed.
type embedResponse struct {
	Backbone  string       `json:"backbone"`
	Dim       int          `json:"dim"`
	Embedding []float32    `json:"embedding,omitempty"`
	Results   []fileResult `json:"results,omitempty"`
}

// handlePredict classifies the uploaded images with the model named by
// ?model= (default imagenet) and answers the top_k classes of each.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	model := q.Get("model")
	if model == "" {
		model = ImageNet
	}
	topK, err := intParam(q, "top_k", DefaultTopK, 1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Resolve the model before reading the body, so an unknown model is a
	// cheap 404. The head is held for the whole request: an activation
	// meanwhile does not change the version this request answers with.
	var (
		h       *head.Head
		version = 1
		labels  = s.o.Backbone.Labels()
	)
	if model != ImageNet {
		hd, vi, err := s.o.Models.Active(model)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("model %q: %w", model, err))
			return
		}
		h, version, labels = hd, vi.Version, hd.Labels
	}
	ups, multi, err := readUploads(r, s.o.MaxFiles, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	images := uploadData(ups)

	var probs [][]float32
	if h == nil {
		probs, err = s.o.Backbone.Classify(r.Context(), images)
	} else {
		var embs [][]float32
		embs, err = s.o.Backbone.Embed(r.Context(), images)
		if err == nil {
			probs, err = s.applyHead(model, h, embs)
		}
	}
	if err != nil {
		s.writeError(w, r, imageError(err, ups, multi))
		return
	}
	s.obs.AddPredictions(model, len(images))

	resp := predictResponse{Model: model, Version: version}
	if !multi {
		resp.Predictions = topClasses(probs[0], labels, topK)
	} else {
		resp.Results = make([]fileResult, len(ups))
		for i, u := range ups {
			resp.Results[i] = fileResult{File: u.name, Predictions: topClasses(probs[i], labels, topK)}
		}
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}

// applyHead runs h on every embedding and reports the time as the "head"
// inference stage. A head trained on another backbone's embeddings is
// refused with 409 rather than misread.
func (s *Server) applyHead(model string, h *head.Head, embs [][]float32) ([][]float32, error) {
	start := time.Now()
	probs := make([][]float32, len(embs))
	for i, e := range embs {
		if len(e) != h.InputDim {
			return nil, errorf(http.StatusConflict, codeBackboneMismatch,
				"model %q was trained on %d-dim embeddings but the backbone gives %d: train it again", model, h.InputDim, len(e))
		}
		probs[i] = make([]float32, len(h.Labels))
		h.Predict(probs[i], e)
	}
	s.obs.ObserveStage("head", time.Since(start))
	return probs, nil
}

// handleEmbed answers the backbone embedding of each uploaded image.
func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	ups, multi, err := readUploads(r, s.o.MaxFiles, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	embs, err := s.o.Backbone.Embed(r.Context(), uploadData(ups))
	if err != nil {
		s.writeError(w, r, imageError(err, ups, multi))
		return
	}
	resp := embedResponse{Backbone: s.o.Backbone.Name(), Dim: s.o.Backbone.Dim()}
	if !multi {
		resp.Embedding = embs[0]
	} else {
		resp.Results = make([]fileResult, len(ups))
		for i, u := range ups {
			resp.Results[i] = fileResult{File: u.name, Embedding: embs[i]}
		}
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}

func uploadData(ups []upload) [][]byte {
	images := make([][]byte, len(ups))
	for i, u := range ups {
		images[i] = u.data
	}
	return images
}

// imageError names the file an image error is about, when the backbone
// says which image of the batch failed (an ImageIndex() int method): by
// its file name in a multipart upload, and as "image" for a raw body,
// which holds a single one.
func imageError(err error, ups []upload, multi bool) error {
	var ie interface {
		error
		ImageIndex() int
	}
	if !errors.As(err, &ie) {
		return err
	}
	i, inner := ie.ImageIndex(), errors.Unwrap(ie)
	if i < 0 || i >= len(ups) || inner == nil {
		return err
	}
	if !multi {
		return fmt.Errorf("image: %w", inner)
	}
	return fmt.Errorf("file %q: %w", ups[i].name, inner)
}

// topClasses returns the k most probable classes, by decreasing score
// (ties by index); k is capped at the number of classes.
func topClasses(probs []float32, labels []string, k int) []prediction {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return 0
	})
	k = min(k, len(idx))
	out := make([]prediction, k)
	for i, c := range idx[:k] {
		label := ""
		if c < len(labels) {
			label = labels[c]
		}
		out[i] = prediction{Label: label, Index: c, Score: probs[c]}
	}
	return out
}

// intParam parses the query parameter name as an integer of at least lo,
// returning def when it is absent.
func intParam(q url.Values, name string, def, lo int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo {
		return 0, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter %s=%q: want an integer >= %d", name, v, lo)
	}
	return n, nil
}
