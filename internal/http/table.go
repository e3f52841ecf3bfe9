package http

import (
	"net/http"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/finetune"
	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// errorTable maps the dependencies' sentinel errors to a status and an API
// error code. It is the one place that decides how a domain condition is
// answered; the first entry the error wraps wins.
var errorTable = []struct {
	target error
	status int
	code   string
}{
	{imageprep.ErrEmpty, http.StatusBadRequest, "empty_image"},
	{imageprep.ErrCorrupt, http.StatusBadRequest, "invalid_image"},
	{imageprep.ErrUnsupportedFormat, http.StatusUnsupportedMediaType, "unsupported_image_format"},
	{imageprep.ErrTooLarge, http.StatusRequestEntityTooLarge, "image_too_large"},

	{dataset.ErrNoExamples, http.StatusBadRequest, "no_images"},
	{dataset.ErrTooFewClasses, http.StatusBadRequest, "too_few_classes"},
	{dataset.ErrBadLabel, http.StatusBadRequest, "invalid_label"},
	{dataset.ErrNotArchive, http.StatusBadRequest, "invalid_archive"},
	{dataset.ErrCorrupt, http.StatusBadRequest, "invalid_archive"},
	{dataset.ErrLayout, http.StatusBadRequest, "invalid_archive"},
	{dataset.ErrUnsafePath, http.StatusBadRequest, "invalid_archive"},
	{dataset.ErrTooManyFiles, http.StatusRequestEntityTooLarge, codeTooManyFiles},
	{dataset.ErrTooLarge, http.StatusRequestEntityTooLarge, "archive_too_large"},

	{head.ErrInvalidHyper, http.StatusBadRequest, codeInvalidParameter},
	{head.ErrTooFewClasses, http.StatusBadRequest, "too_few_classes"},
	{head.ErrNoData, http.StatusBadRequest, "no_images"},

	{finetune.ErrInvalidFiles, http.StatusBadRequest, "invalid_files"},

	{store.ErrNotFound, http.StatusNotFound, "model_not_found"},
	{store.ErrInvalidName, http.StatusBadRequest, "invalid_model_name"},
	{store.ErrReservedName, http.StatusBadRequest, "invalid_model_name"},
	{jobs.ErrNotFound, http.StatusNotFound, "job_not_found"},
	{jobs.ErrQueueFull, http.StatusTooManyRequests, "queue_full"},
	{jobs.ErrFinished, http.StatusConflict, "job_finished"},
	{jobs.ErrClosed, http.StatusServiceUnavailable, "shutting_down"},
}
