package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// upload is one file from a request body.
type upload struct {
	// name is the part's file name, else its field name, else "part N";
	// empty for a raw body.
	name string
	// field is the multipart field name ("" for a raw body); /finetune
	// uses it as the label.
	field string
	data  []byte
}

// Media types accepted as a raw (non-multipart) body. curl --data-binary
// sends application/x-www-form-urlencoded unless told otherwise, so it is
// accepted too: the content is identified by its bytes, not its header.
var rawImageTypes = []string{"application/octet-stream", "application/x-www-form-urlencoded"}

var rawArchiveTypes = []string{
	"application/zip", "application/x-zip-compressed", "application/x-tar",
	"application/gzip", "application/x-gzip", "application/x-gtar", "application/x-compressed-tar",
}

// acceptsRaw reports whether a raw body of media type mt is allowed; an
// absent Content-Type is allowed and sniffed.
func acceptsRaw(mt string, archives bool) bool {
	if mt == "" || strings.HasPrefix(mt, "image/") {
		return true
	}
	for _, t := range rawImageTypes {
		if mt == t {
			return true
		}
	}
	if archives {
		for _, t := range rawArchiveTypes {
			if mt == t {
				return true
			}
		}
	}
	return false
}

// readUploads reads the files of r's body: every part of a
// multipart/form-data body, or the raw body as a single file. It reads at
// most maxFiles parts. It returns multipart=true for a multipart body, and
// an *apiError for an empty body, a refused media type or too many files;
// a body over its limit fails with the *http.MaxBytesError set up by
// limitBody.
func readUploads(r *http.Request, maxFiles int, archives bool) (ups []upload, multipart bool, err error) {
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var params map[string]string
		mt, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, false, errorf(http.StatusBadRequest, codeMediaType, "invalid Content-Type %q: %v", ct, err)
		}
		if mt == "multipart/form-data" {
			if params["boundary"] == "" {
				return nil, true, errorf(http.StatusBadRequest, codeBadRequest, "multipart/form-data body without a boundary")
			}
			ups, err = readParts(r, maxFiles)
			return ups, true, err
		}
	}
	if !acceptsRaw(mt, archives) {
		want := "an image (image/*, application/octet-stream) or multipart/form-data"
		if archives {
			want = "multipart/form-data or an archive (application/zip, application/x-tar, application/gzip)"
		}
		return nil, false, errorf(http.StatusUnsupportedMediaType, codeMediaType, "unsupported Content-Type %q: send %s", mt, want)
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, false, fmt.Errorf("read body: %w", err)
	}
	if len(data) == 0 {
		return nil, false, errorf(http.StatusBadRequest, codeEmptyBody, "request body is empty: send an image")
	}
	return []upload{{data: data}}, false, nil
}

func readParts(r *http.Request, maxFiles int) ([]upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, codeBadRequest, "read multipart body: %v", err)
	}
	var ups []upload
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		if len(ups) == maxFiles {
			p.Close()
			return nil, errorf(http.StatusRequestEntityTooLarge, codeTooManyFiles, "too many files in one upload: the limit is %d", maxFiles)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(p); err != nil {
			p.Close()
			return nil, multipartError(err)
		}
		p.Close()
		u := upload{name: p.FileName(), field: p.FormName(), data: buf.Bytes()}
		if u.name == "" {
			u.name = u.field
		}
		if u.name == "" {
			u.name = fmt.Sprintf("part %d", len(ups)+1)
		}
		ups = append(ups, u)
	}
	if len(ups) == 0 {
		return nil, errorf(http.StatusBadRequest, codeEmptyBody, "multipart body holds no file parts")
	}
	return ups, nil
}

// multipartError keeps a body-limit error as it is (413) and turns any
// other multipart syntax error into a 400.
func multipartError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	return errorf(http.StatusBadRequest, codeBadRequest, "malformed multipart body: %v", err)
}
