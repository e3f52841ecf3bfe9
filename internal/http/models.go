package http

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tlserve/tlserve/internal/store"
)

// modelList answers GET /models: the backbone's classifier first, then
// the fine-tuned models.
type modelList struct {
	Models []store.ModelInfo `json:"models"`
}

// imagenetModel describes the backbone's own classifier in the shape of a
// fine-tuned model with a single version.
func (s *Server) imagenetModel() store.ModelInfo {
	bb := s.o.Backbone
	return store.ModelInfo{
		Name: ImageNet, ActiveVersion: 1, Labels: bb.Labels(),
		Versions: []store.VersionInfo{{Version: 1, BackboneID: bb.ID(), BackboneName: bb.Name(), EmbeddingDim: bb.Dim()}},
	}
}

// handleModelList answers every model.
func (s *Server) handleModelList(w http.ResponseWriter, r *http.Request) {
	infos, err := s.o.Models.Models()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := modelList{Models: append([]store.ModelInfo{s.imagenetModel()}, infos...)}
	s.writeJSON(w, r, http.StatusOK, list)
}

// handleModelGet answers one model with its versions.
func (s *Server) handleModelGet(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if name == ImageNet {
		s.writeJSON(w, r, http.StatusOK, s.imagenetModel())
		return
	}
	info, err := s.o.Models.Model(name)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("model %q: %w", name, err))
		return
	}
	s.writeJSON(w, r, http.StatusOK, info)
}

// handleModelActivate makes ?version= the active version of a model
// (rollback or roll forward) and answers the model.
func (s *Server) handleModelActivate(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if name == ImageNet {
		s.writeError(w, r, errorf(http.StatusBadRequest, codeInvalidParameter, "model %q has a single version", name))
		return
	}
	v := r.URL.Query().Get("version")
	if v == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter version is required"))
		return
	}
	version, err := intParam(r.URL.Query(), "version", 0, 1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.o.Models.Activate(name, version); err != nil {
		s.writeError(w, r, fmt.Errorf("model %q version %d: %w", name, version, err))
		return
	}
	info, err := s.o.Models.Model(name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, info)
}

// handleModelDelete deletes a model with all its versions and dataset,
// answering 204.
func (s *Server) handleModelDelete(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if name == ImageNet {
		s.writeError(w, r, errorf(http.StatusBadRequest, codeInvalidParameter, "model %q is the backbone's classifier and cannot be deleted", name))
		return
	}
	if err := s.o.Models.Delete(name); err != nil {
		s.writeError(w, r, fmt.Errorf("model %q: %w", name, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
