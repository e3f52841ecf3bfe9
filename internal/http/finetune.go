package http

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// jobList answers GET /finetune.
type jobList struct {
	Jobs []jobs.Job `json:"jobs"`
}

// handleFinetuneCreate validates an upload of labeled images and queues a
// fine-tune job for it, answering 202 with the job and its Location.
func (s *Server) handleFinetuneCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	model := q.Get("model")
	if err := checkModelName(model); err != nil {
		s.writeError(w, r, err)
		return
	}
	hyper, err := hyperParams(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	replace, err := boolParam(q, "replace")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	examples, err := s.readExamples(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Submit validates every file, the labels and the number of classes of
	// the final training set before queueing, so bad uploads are refused
	// here with 400.
	job, err := s.o.Jobs.Submit(r.Context(), jobs.Spec{Model: model, Examples: examples, Hyper: hyper, Replace: replace})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/finetune/"+job.ID)
	s.writeJSON(w, r, http.StatusAccepted, job)
}

// readExamples turns a /finetune body into labeled examples: each
// multipart file part is labeled by its field name, and an archive (as a
// part or as the whole body) contributes one class per folder.
func (s *Server) readExamples(r *http.Request) ([]dataset.Example, error) {
	ups, _, err := readUploads(r, s.o.MaxFiles, true)
	if err != nil {
		return nil, err
	}
	var examples []dataset.Example
	// The archive limits bound the whole upload: each archive gets what
	// the earlier ones left, so many small zip bombs in one body cannot
	// each inflate to the full limit.
	archiveBytes := s.o.ArchiveMaxBytes
	for i, u := range ups {
		if dataset.IsArchive(u.data) {
			lim := dataset.Limits{MaxFiles: s.o.MaxFiles - len(examples), MaxBytes: archiveBytes}
			if lim.MaxFiles <= 0 {
				return nil, errorf(http.StatusRequestEntityTooLarge, codeTooManyFiles, "too many files in one upload: the limit is %d", s.o.MaxFiles)
			}
			if lim.MaxBytes <= 0 {
				return nil, archiveError(u, fmt.Errorf("%w: the archives of one upload may hold %d bytes in all", dataset.ErrTooLarge, s.o.ArchiveMaxBytes))
			}
			ex, err := dataset.FromArchive(u.data, lim)
			if err != nil {
				return nil, archiveError(u, err)
			}
			for _, e := range ex {
				archiveBytes -= int64(len(e.Data))
			}
			examples = append(examples, ex...)
		} else {
			if u.field == "" {
				if len(ups) == 1 && u.name == "" {
					return nil, errorf(http.StatusBadRequest, codeMissingLabel,
						"a raw /finetune body must be a .zip, .tar or .tar.gz archive with one folder per class; "+
							"to upload single images use multipart/form-data with the label as each file's field name")
				}
				return nil, errorf(http.StatusBadRequest, codeMissingLabel, "file %q (part %d) has no field name to use as its label", u.name, i+1)
			}
			examples = append(examples, dataset.Example{Label: u.field, Name: u.name, Data: u.data})
		}
		if len(examples) > s.o.MaxFiles {
			return nil, errorf(http.StatusRequestEntityTooLarge, codeTooManyFiles, "too many files in one upload: the limit is %d", s.o.MaxFiles)
		}
	}
	return examples, nil
}

func archiveError(u upload, err error) error {
	if u.name == "" {
		return fmt.Errorf("archive: %w", err)
	}
	return fmt.Errorf("archive %q: %w", u.name, err)
}

// checkModelName refuses a missing or invalid model name before the body
// is read.
func checkModelName(name string) error {
	if name == "" {
		return errorf(http.StatusBadRequest, codeInvalidParameter, "parameter model is required: the name of the model to train")
	}
	return store.ValidateName(name)
}

// hyperParams reads the training hyperparameters from the query on top of
// head.DefaultHyper and validates them.
func hyperParams(q url.Values) (head.Hyper, error) {
	h := head.DefaultHyper()
	ints := []struct {
		name string
		dst  *int
	}{{"epochs", &h.Epochs}, {"batch_size", &h.BatchSize}, {"hidden_units", &h.HiddenUnits}, {"patience", &h.Patience}}
	for _, p := range ints {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return h, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter %s=%q: want an integer", p.name, v)
			}
			*p.dst = n
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{{"learning_rate", &h.LearningRate}, {"validation_split", &h.ValidationSplit}}
	for _, p := range floats {
		if v := q.Get(p.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return h, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter %s=%q: want a number", p.name, v)
			}
			*p.dst = f
		}
	}
	if v := q.Get("seed"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return h, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter seed=%q: want an integer", v)
		}
		h.Seed = n
	}
	if err := h.Validate(); err != nil {
		return h, err
	}
	return h, nil
}

// boolParam parses an optional boolean query parameter (false when absent).
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, codeInvalidParameter, "parameter %s=%q: want true or false", name, v)
	}
	return b, nil
}

// handleFinetuneList answers every known job, in the order Jobs.List gives (newest first for jobs.Manager).
func (s *Server) handleFinetuneList(w http.ResponseWriter, r *http.Request) {
	list := s.o.Jobs.List()
	if list == nil {
		list = []jobs.Job{}
	}
	s.writeJSON(w, r, http.StatusOK, jobList{Jobs: list})
}

// handleFinetuneGet answers one job.
func (s *Server) handleFinetuneGet(w http.ResponseWriter, r *http.Request) {
	job, err := s.o.Jobs.Get(chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, job)
}

// handleFinetuneCancel cancels a queued or running job and answers it.
func (s *Server) handleFinetuneCancel(w http.ResponseWriter, r *http.Request) {
	job, err := s.o.Jobs.Cancel(chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, job)
}
