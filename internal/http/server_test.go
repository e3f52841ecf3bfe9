package http_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	tlhttp "github.com/tlserve/tlserve/internal/http"
	"github.com/tlserve/tlserve/internal/metrics"
)

// env is a Server over fakes.
type env struct {
	srv    *tlhttp.Server
	bb     *fakeBackbone
	models *fakeModels
	jobs   *fakeJobs
	reg    *prometheus.Registry
}

func newEnv(t testing.TB, tweak func(*tlhttp.Options)) *env {
	t.Helper()
	e := &env{bb: &fakeBackbone{maxPixels: 1 << 20}, models: newFakeModels(), jobs: &fakeJobs{capacity: 8}, reg: prometheus.NewRegistry()}
	e.models.add("colors", newHead(t))
	e.models.add("colors", newHead(t))
	o := tlhttp.Options{
		Backbone: e.bb, Models: e.models, Jobs: e.jobs,
		Observer: metrics.New(e.reg),
		Metrics:  promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}),
	}
	if tweak != nil {
		tweak(&o)
	}
	srv, err := tlhttp.NewServer(o)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	e.srv = srv
	return e
}

// do serves one request and returns the recorded response.
func (e *env) do(t *testing.T, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

type apiErr struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// checkError asserts that rec is a JSON error with status and code, that
// it carries the response's request id, and that its message contains
// every string of want.
func checkError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string, want ...string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var b apiErr
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
	}
	if b.Error.Code != code {
		t.Errorf("code %q, want %q (message %q)", b.Error.Code, code, b.Error.Message)
	}
	if b.Error.Message == "" {
		t.Error("empty message")
	}
	if id := rec.Header().Get("X-Request-Id"); id == "" || b.Error.RequestID != id {
		t.Errorf("request_id %q, header X-Request-Id %q", b.Error.RequestID, id)
	}
	for _, w := range want {
		if !strings.Contains(b.Error.Message, w) {
			t.Errorf("message %q does not contain %q", b.Error.Message, w)
		}
	}
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, rec.Body)
	}
	return v
}

// solidPNG encodes a w×h image of one color.
func solidPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	red   = color.RGBA{220, 10, 10, 255}
	green = color.RGBA{10, 220, 10, 255}
	blue  = color.RGBA{10, 10, 220, 255}
)

// truncatedJPEG is the first half of a valid JPEG.
func truncatedJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[:b.Len()/2]
}

// pngHeader is a PNG signature and IHDR chunk declaring w×h pixels, with no
// image data: a decompression bomb must be refused from the header alone.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 2 // 8-bit RGB
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// part is one multipart part; an empty field leaves out the name.
type part struct {
	field, file string
	data        []byte
}

func multipartBody(t testing.TB, parts ...part) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := make(textproto.MIMEHeader)
		disp := "form-data"
		if p.field != "" {
			disp += fmt.Sprintf("; name=%q", p.field)
		}
		if p.file != "" {
			disp += fmt.Sprintf("; filename=%q", p.file)
		}
		h.Set("Content-Disposition", disp)
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.Bytes()
}

// zipBody builds a zip archive from path → content.
func zipBody(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type predictResp struct {
	Model       string       `json:"model"`
	Version     int          `json:"version"`
	Predictions []predResult `json:"predictions"`
	Results     []struct {
		File        string       `json:"file"`
		Predictions []predResult `json:"predictions"`
	} `json:"results"`
}

type predResult struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

func TestPredict(t *testing.T) {
	e := newEnv(t, nil)
	redPNG := solidPNG(t, 8, 8, red)
	tests := []struct {
		name, target, ct string
		body             []byte
		model            string
		version          int
		top              []string
	}{
		{"raw png", "/predict", "image/png", redPNG, "imagenet", 1, []string{"red", "green", "blue"}},
		{"octet-stream", "/predict?top_k=1", "application/octet-stream", solidPNG(t, 8, 8, blue), "imagenet", 1, []string{"blue"}},
		{"curl default type", "/predict?top_k=2", "application/x-www-form-urlencoded", solidPNG(t, 8, 8, green), "imagenet", 1, []string{"green", "red"}},
		{"no content type", "/predict?top_k=1", "", redPNG, "imagenet", 1, []string{"red"}},
		{"top_k capped", "/predict?top_k=1000", "image/png", redPNG, "imagenet", 1, []string{"red", "green", "blue"}},
		{"head", "/predict?model=colors", "image/png", redPNG, "colors", 2, []string{"warm", "cold"}},
		{"head blue", "/predict?model=colors&top_k=1", "image/png", solidPNG(t, 8, 8, blue), "colors", 2, []string{"cold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(t, "POST", tt.target, tt.ct, tt.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decode[predictResp](t, rec)
			if got.Model != tt.model || got.Version != tt.version {
				t.Errorf("model %q version %d, want %q %d", got.Model, got.Version, tt.model, tt.version)
			}
			var labels []string
			prev := 2.0
			for _, p := range got.Predictions {
				labels = append(labels, p.Label)
				if p.Score > prev || p.Score < 0 || p.Score > 1 {
					t.Errorf("scores not sorted probabilities: %+v", got.Predictions)
				}
				prev = p.Score
			}
			if strings.Join(labels, ",") != strings.Join(tt.top, ",") {
				t.Errorf("labels %v, want %v", labels, tt.top)
			}
		})
	}
}

func TestPredictMultipart(t *testing.T) {
	e := newEnv(t, nil)
	ct, body := multipartBody(t,
		part{"image", "a.png", solidPNG(t, 4, 4, red)},
		part{"image", "b.png", solidPNG(t, 4, 4, blue)},
		part{"", "c.png", solidPNG(t, 4, 4, green)}, // a field name is optional for /predict
	)
	rec := e.do(t, "POST", "/predict?top_k=1", ct, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decode[predictResp](t, rec)
	want := []string{"a.png:red", "b.png:blue", "c.png:green"}
	if len(got.Results) != len(want) || got.Predictions != nil {
		t.Fatalf("got %+v, want %d results and no top-level predictions", got, len(want))
	}
	for i, r := range got.Results {
		if s := r.File + ":" + r.Predictions[0].Label; s != want[i] {
			t.Errorf("result %d: %s, want %s", i, s, want[i])
		}
	}
}

func TestEmbed(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("raw", func(t *testing.T) {
		rec := e.do(t, "POST", "/embed", "image/png", solidPNG(t, 4, 4, color.RGBA{255, 0, 0, 255}))
		got := decode[struct {
			Backbone  string    `json:"backbone"`
			Dim       int       `json:"dim"`
			Embedding []float32 `json:"embedding"`
		}](t, rec)
		if rec.Code != 200 || got.Backbone != "fakenet" || got.Dim != 4 || fmt.Sprint(got.Embedding) != "[1 0 0 1]" {
			t.Errorf("status %d, got %+v", rec.Code, got)
		}
	})
	t.Run("multipart", func(t *testing.T) {
		ct, body := multipartBody(t, part{"image", "x.png", solidPNG(t, 4, 4, color.RGBA{0, 0, 255, 255})})
		rec := e.do(t, "POST", "/embed", ct, body)
		got := decode[struct {
			Results []struct {
				File      string    `json:"file"`
				Embedding []float32 `json:"embedding"`
			} `json:"results"`
		}](t, rec)
		if rec.Code != 200 || len(got.Results) != 1 || got.Results[0].File != "x.png" || fmt.Sprint(got.Results[0].Embedding) != "[0 0 1 1]" {
			t.Errorf("status %d, got %+v", rec.Code, got)
		}
	})
}

func TestPredictErrors(t *testing.T) {
	e := newEnv(t, func(o *tlhttp.Options) {
		o.PredictMaxBytes = 4 << 10
		o.MaxFiles = 2
	})
	img := solidPNG(t, 4, 4, red)
	mpCT, mpBody := multipartBody(t, part{"image", "good.png", img}, part{"image", "bad.jpg", truncatedJPEG(t)})
	manyCT, manyBody := multipartBody(t, part{"a", "1.png", img}, part{"a", "2.png", img}, part{"a", "3.png", img})
	tests := []struct {
		name, method, target, ct string
		body                     []byte
		status                   int
		code                     string
		msg                      []string
	}{
		{"json content type", "POST", "/predict", "application/json", []byte(`{}`), 415, "unsupported_media_type", []string{"application/json"}},
		{"bad content type", "POST", "/predict", "image/png; ===", img, 400, "unsupported_media_type", nil},
		{"empty body", "POST", "/predict", "image/png", nil, 400, "empty_body", nil},
		{"too large", "POST", "/predict", "image/png", make([]byte, 5<<10), 413, "body_too_large", []string{"4 KiB"}},
		{"non-image", "POST", "/predict", "application/octet-stream", []byte("hello, world"), 415, "unsupported_image_format", nil},
		{"truncated jpeg", "POST", "/predict", "image/jpeg", truncatedJPEG(t), 400, "invalid_image", []string{"image: imageprep: corrupt"}},
		{"png bomb header", "POST", "/predict", "image/png", pngHeader(50000, 50000), 413, "image_too_large", nil},
		{"bad file in multipart named", "POST", "/predict", mpCT, mpBody, 400, "invalid_image", []string{`file "bad.jpg": imageprep: corrupt`}},
		{"too many files", "POST", "/predict", manyCT, manyBody, 413, "too_many_files", []string{"2"}},
		{"empty multipart", "POST", "/predict", "multipart/form-data; boundary=xyz", []byte("--xyz--\r\n"), 400, "empty_body", nil},
		{"malformed multipart", "POST", "/predict", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"), 400, "bad_request", nil},
		{"unknown model", "POST", "/predict?model=nope", "image/png", img, 404, "model_not_found", []string{`"nope"`}},
		{"top_k zero", "POST", "/predict?top_k=0", "image/png", img, 400, "invalid_parameter", []string{"top_k"}},
		{"top_k text", "POST", "/predict?top_k=five", "image/png", img, 400, "invalid_parameter", []string{"top_k"}},
		{"embed truncated png", "POST", "/embed", "image/png", img[:40], 400, "invalid_image", nil},
		{"embed too large", "POST", "/embed", "image/png", make([]byte, 5<<10), 413, "body_too_large", nil},
		{"unknown route", "GET", "/nope", "", nil, 404, "not_found", nil},
		{"wrong method", "GET", "/predict", "", nil, 405, "method_not_allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(t, tt.method, tt.target, tt.ct, tt.body)
			checkError(t, rec, tt.status, tt.code, tt.msg...)
		})
	}
	// The server keeps serving after every bad request.
	if rec := e.do(t, "POST", "/predict", "image/png", img); rec.Code != 200 {
		t.Errorf("predict after errors: %d %s", rec.Code, rec.Body)
	}
}

// TestBodyLimitWithoutLength checks the limit on a chunked body, whose
// length is unknown until it is read.
func TestBodyLimitWithoutLength(t *testing.T) {
	e := newEnv(t, func(o *tlhttp.Options) { o.PredictMaxBytes = 1 << 10 })
	req := httptest.NewRequest("POST", "/predict", io.MultiReader(bytes.NewReader(make([]byte, 4<<10))))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "image/png")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkError(t, rec, 413, "body_too_large", "1 KiB")
}

func TestFinetune(t *testing.T) {
	r, g, b := solidPNG(t, 4, 4, red), solidPNG(t, 4, 4, green), solidPNG(t, 4, 4, blue)
	t.Run("multipart labels", func(t *testing.T) {
		e := newEnv(t, nil)
		ct, body := multipartBody(t, part{"warm", "r1.png", r}, part{"warm", "r2.png", r}, part{"cold", "b1.png", b})
		rec := e.do(t, "POST", "/finetune?model=temp&epochs=3&learning_rate=0.05&replace=true&seed=7", ct, body)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "/finetune/job1" {
			t.Errorf("Location %q", loc)
		}
		spec, err := e.jobs.lastSpec()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ex := range spec.Examples {
			got = append(got, ex.Label+"/"+ex.Name)
		}
		if fmt.Sprint(got) != "[warm/r1.png warm/r2.png cold/b1.png]" || spec.Model != "temp" || !spec.Replace ||
			spec.Hyper.Epochs != 3 || spec.Hyper.LearningRate != 0.05 || spec.Hyper.Seed != 7 {
			t.Errorf("spec %+v, examples %v", spec.Hyper, got)
		}
	})
	t.Run("archive body", func(t *testing.T) {
		e := newEnv(t, nil)
		z := zipBody(t, map[string][]byte{"set/red/1.png": r, "set/red/2.png": r, "set/green/1.png": g, "__MACOSX/set/._x": {1}})
		rec := e.do(t, "POST", "/finetune?model=temp", "application/zip", z)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		spec, _ := e.jobs.lastSpec()
		classes := map[string]int{}
		for _, ex := range spec.Examples {
			classes[ex.Label]++
		}
		if len(spec.Examples) != 3 || classes["red"] != 2 || classes["green"] != 1 {
			t.Errorf("classes %v from %d examples", classes, len(spec.Examples))
		}
	})
	t.Run("archive part", func(t *testing.T) {
		e := newEnv(t, nil)
		z := zipBody(t, map[string][]byte{"red/1.png": r, "blue/1.png": b})
		ct, body := multipartBody(t, part{"data", "set.zip", z}, part{"green", "g.png", g})
		rec := e.do(t, "POST", "/finetune?model=temp", ct, body)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if spec, _ := e.jobs.lastSpec(); len(spec.Examples) != 3 {
			t.Errorf("%d examples, want 3", len(spec.Examples))
		}
	})
}

func TestFinetuneErrors(t *testing.T) {
	e := newEnv(t, func(o *tlhttp.Options) {
		o.FinetuneMaxBytes = 64 << 10
		o.MaxFiles = 4
	})
	r, b := solidPNG(t, 4, 4, red), solidPNG(t, 4, 4, blue)
	good := func() (string, []byte) { return multipartBody(t, part{"warm", "r.png", r}, part{"cold", "b.png", b}) }
	goodCT, goodBody := good()
	noLabelCT, noLabelBody := multipartBody(t, part{"warm", "r.png", r}, part{"", "b.png", b})
	oneCT, oneBody := multipartBody(t, part{"warm", "r1.png", r}, part{"warm", "r2.png", r})
	badLabelCT, badLabelBody := multipartBody(t, part{"warm", "r.png", r}, part{"../x", "b.png", b})
	badImgCT, badImgBody := multipartBody(t, part{"warm", "r.png", r}, part{"cold", "trunc.jpg", truncatedJPEG(t)},
		part{"cold", "bomb.png", pngHeader(50000, 50000)}, part{"cold", "b.png", b})
	manyCT, manyBody := multipartBody(t, part{"a", "1", r}, part{"a", "2", r}, part{"b", "3", b}, part{"b", "4", b}, part{"b", "5", b})
	tests := []struct {
		name, target, ct string
		body             []byte
		status           int
		code             string
		msg              []string
	}{
		{"no model", "/finetune", goodCT, goodBody, 400, "invalid_parameter", []string{"model"}},
		{"reserved model", "/finetune?model=imagenet", goodCT, goodBody, 400, "invalid_model_name", []string{"imagenet"}},
		{"invalid model name", "/finetune?model=Bad/Name", goodCT, goodBody, 400, "invalid_model_name", nil},
		{"bad epochs", "/finetune?model=m&epochs=ten", goodCT, goodBody, 400, "invalid_parameter", []string{"epochs"}},
		{"invalid hyper", "/finetune?model=m&epochs=0", goodCT, goodBody, 400, "invalid_parameter", nil},
		{"bad replace", "/finetune?model=m&replace=maybe", goodCT, goodBody, 400, "invalid_parameter", []string{"replace"}},
		{"label-less part", "/finetune?model=m", noLabelCT, noLabelBody, 400, "missing_label", []string{`"b.png"`}},
		{"one class", "/finetune?model=m", oneCT, oneBody, 400, "too_few_classes", nil},
		{"bad label", "/finetune?model=m", badLabelCT, badLabelBody, 400, "invalid_files", []string{`"b.png"`}},
		{"invalid images named", "/finetune?model=m", badImgCT, badImgBody, 400, "invalid_files", []string{`"trunc.jpg"`, `"bomb.png"`}},
		{"raw image", "/finetune?model=m", "image/png", r, 400, "missing_label", []string{"archive"}},
		{"json", "/finetune?model=m", "application/json", []byte("{}"), 415, "unsupported_media_type", nil},
		{"empty", "/finetune?model=m", "application/zip", nil, 400, "empty_body", nil},
		{"corrupt archive", "/finetune?model=m", "application/zip", []byte("PK\x03\x04broken"), 400, "invalid_archive", nil},
		{"too many files", "/finetune?model=m", manyCT, manyBody, 413, "too_many_files", nil},
		{"too large", "/finetune?model=m", "application/zip", make([]byte, 65<<10), 413, "body_too_large", []string{"64 KiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, e.do(t, "POST", tt.target, tt.ct, tt.body), tt.status, tt.code, tt.msg...)
		})
	}
	if n := len(e.jobs.List()); n != 0 {
		t.Errorf("%d jobs submitted by refused requests", n)
	}
	t.Run("queue full", func(t *testing.T) {
		e.jobs.capacity = 1
		if rec := e.do(t, "POST", "/finetune?model=m", goodCT, goodBody); rec.Code != 202 {
			t.Fatalf("first job: %d %s", rec.Code, rec.Body)
		}
		ct, body := good()
		checkError(t, e.do(t, "POST", "/finetune?model=m", ct, body), 429, "queue_full")
	})
}

func TestJobs(t *testing.T) {
	e := newEnv(t, nil)
	ct, body := multipartBody(t, part{"warm", "r.png", solidPNG(t, 4, 4, red)}, part{"cold", "b.png", solidPNG(t, 4, 4, blue)})
	if rec := e.do(t, "POST", "/finetune?model=m", ct, body); rec.Code != 202 {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	type job struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	tests := []struct {
		name, method, target string
		status               int
		want                 string // job status, or error code
	}{
		{"get", "GET", "/finetune/job1", 200, "queued"},
		{"get unknown", "GET", "/finetune/job9", 404, "job_not_found"},
		{"cancel unknown", "DELETE", "/finetune/job9", 404, "job_not_found"},
		{"cancel", "DELETE", "/finetune/job1", 200, "canceled"},
		{"get canceled", "GET", "/finetune/job1", 200, "canceled"},
		{"cancel finished", "DELETE", "/finetune/job1", 409, "job_finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(t, tt.method, tt.target, "", nil)
			if tt.status != 200 {
				checkError(t, rec, tt.status, tt.want)
				return
			}
			if got := decode[job](t, rec); rec.Code != 200 || got.ID != "job1" || got.Status != tt.want {
				t.Errorf("status %d, job %+v, want %s", rec.Code, got, tt.want)
			}
		})
	}
	t.Run("list", func(t *testing.T) {
		rec := e.do(t, "GET", "/finetune", "", nil)
		got := decode[struct{ Jobs []job }](t, rec)
		if rec.Code != 200 || len(got.Jobs) != 1 || got.Jobs[0].ID != "job1" {
			t.Errorf("status %d, list %+v", rec.Code, got)
		}
	})
}

func TestModels(t *testing.T) {
	e := newEnv(t, nil)
	type model struct {
		Name          string `json:"name"`
		ActiveVersion int    `json:"active_version"`
		Labels        []string
	}
	t.Run("list", func(t *testing.T) {
		rec := e.do(t, "GET", "/models", "", nil)
		got := decode[struct{ Models []model }](t, rec)
		if rec.Code != 200 || len(got.Models) != 2 || got.Models[0].Name != "imagenet" || len(got.Models[0].Labels) != 3 ||
			got.Models[1].Name != "colors" || got.Models[1].ActiveVersion != 2 {
			t.Errorf("status %d, models %+v", rec.Code, got)
		}
	})
	tests := []struct {
		name, method, target string
		status               int
		code                 string
		active               int // the active version of colors afterwards
	}{
		{"get imagenet", "GET", "/models/imagenet", 200, "", 2},
		{"get", "GET", "/models/colors", 200, "", 2},
		{"get unknown", "GET", "/models/nope", 404, "model_not_found", 2},
		{"rollback", "POST", "/models/colors/activate?version=1", 200, "", 1},
		{"activate unknown version", "POST", "/models/colors/activate?version=7", 404, "model_not_found", 1},
		{"activate without version", "POST", "/models/colors/activate", 400, "invalid_parameter", 1},
		{"activate bad version", "POST", "/models/colors/activate?version=x", 400, "invalid_parameter", 1},
		{"activate unknown model", "POST", "/models/nope/activate?version=1", 404, "model_not_found", 1},
		{"activate imagenet", "POST", "/models/imagenet/activate?version=1", 400, "invalid_parameter", 1},
		{"roll forward", "POST", "/models/colors/activate?version=2", 200, "", 2},
		{"delete imagenet", "DELETE", "/models/imagenet", 400, "invalid_parameter", 2},
		{"delete unknown", "DELETE", "/models/nope", 404, "model_not_found", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(t, tt.method, tt.target, "", nil)
			if tt.code != "" {
				checkError(t, rec, tt.status, tt.code)
			} else if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if _, v, err := e.models.Active("colors"); err != nil || v.Version != tt.active {
				t.Errorf("active version %d (%v), want %d", v.Version, err, tt.active)
			}
		})
	}
	t.Run("predict follows activation", func(t *testing.T) {
		e.do(t, "POST", "/models/colors/activate?version=1", "", nil)
		got := decode[predictResp](t, e.do(t, "POST", "/predict?model=colors", "image/png", solidPNG(t, 2, 2, red)))
		if got.Version != 1 {
			t.Errorf("predicted with version %d, want 1", got.Version)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if rec := e.do(t, "DELETE", "/models/colors", "", nil); rec.Code != http.StatusNoContent {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		checkError(t, e.do(t, "POST", "/predict?model=colors", "image/png", solidPNG(t, 2, 2, red)), 404, "model_not_found")
	})
}

func TestLoadShedding(t *testing.T) {
	e := newEnv(t, func(o *tlhttp.Options) { o.MaxInFlight = 1 })
	e.bb.block = make(chan struct{})
	e.bb.entered = make(chan struct{}, 1)
	img := solidPNG(t, 2, 2, red)
	var wg sync.WaitGroup
	wg.Add(1)
	first := make(chan int, 1)
	go func() {
		defer wg.Done()
		first <- e.do(t, "POST", "/predict", "image/png", img).Code
	}()
	<-e.bb.entered // the first request holds the only slot
	rec := e.do(t, "POST", "/predict", "image/png", img)
	checkError(t, rec, 503, "overloaded", "limit 1")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Cheap routes are not limited.
	if rec := e.do(t, "GET", "/models", "", nil); rec.Code != 200 {
		t.Errorf("GET /models while loaded: %d", rec.Code)
	}
	close(e.bb.block)
	wg.Wait()
	if c := <-first; c != 200 {
		t.Errorf("first request: %d", c)
	}
	if !strings.Contains(scrape(t, e), `tlserve_http_requests_shed_total{route="/predict"}`) {
		t.Error("shed counter not in /metrics")
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, nil)
	e.bb.panicMsg = "boom"
	rec := e.do(t, "POST", "/predict", "image/png", solidPNG(t, 2, 2, red))
	checkError(t, rec, 500, "internal", "request id")
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("internal detail leaked to the client: %s", rec.Body)
	}
	e.bb.panicMsg = ""
	if rec := e.do(t, "POST", "/predict", "image/png", solidPNG(t, 2, 2, red)); rec.Code != 200 {
		t.Errorf("after panic: %d", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ name, in, want string }{
		{"kept", "abc-123", "abc-123"},
		{"generated", "", ""},
		{"unprintable replaced", "a\x01b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/finetune/none", nil)
			req.Header.Set("X-Request-Id", tt.in)
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			b := decode[apiErr](t, rec)
			got := rec.Header().Get("X-Request-Id")
			if got == "" || b.Error.RequestID != got || (tt.want != "" && got != tt.want) || (tt.want == "" && got == tt.in) {
				t.Errorf("header %q, body %q, sent %q", got, b.Error.RequestID, tt.in)
			}
		})
	}
}

func scrape(t *testing.T, e *env) string {
	t.Helper()
	rec := e.do(t, "GET", "/metrics", "", nil)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestMetricsRoutes(t *testing.T) {
	e := newEnv(t, nil)
	e.do(t, "GET", "/finetune/abc", "", nil)
	e.do(t, "GET", "/finetune/def", "", nil)
	e.do(t, "GET", "/no/such/path", "", nil)
	e.do(t, "POST", "/predict?model=colors", "image/png", solidPNG(t, 2, 2, red))
	e.do(t, "POST", "/predict", "image/png", solidPNG(t, 2, 2, red))
	out := scrape(t, e)
	for _, want := range []string{
		`tlserve_http_request_duration_seconds_count{code="404",method="GET",route="/finetune/{id}"} 2`,
		`tlserve_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`tlserve_http_request_duration_seconds_count{code="200",method="POST",route="/predict"} 2`,
		`tlserve_predictions_total{model="colors"} 1`,
		`tlserve_predictions_total{model="imagenet"} 1`,
		`tlserve_inference_stage_duration_seconds_count{stage="head"} 1`,
		`tlserve_http_requests_in_flight 1`, // the scrape itself
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(out, "/finetune/abc") {
		t.Error("raw path used as a label")
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if rec := e.do(t, "GET", p, "", nil); rec.Code != 200 {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
}

func TestGate(t *testing.T) {
	g := tlhttp.NewGate()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	steps := []struct {
		name   string
		action func()
		want   map[string]int
	}{
		{"loading", func() {}, map[string]int{"/healthz": 200, "/readyz": 503, "/models": 503}},
		{"open", func() { g.Open(newEnv(t, nil).srv) }, map[string]int{"/healthz": 200, "/readyz": 200, "/models": 200}},
		{"draining", g.Drain, map[string]int{"/healthz": 200, "/readyz": 503, "/models": 200}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.action()
			for path, code := range st.want {
				rec := get(path)
				if rec.Code != code {
					t.Errorf("%s: %d, want %d", path, rec.Code, code)
				}
				if code == 503 {
					checkError(t, rec, 503, "not_ready")
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    tlhttp.Options
		ok   bool
	}{
		{"complete", tlhttp.Options{Backbone: &fakeBackbone{}, Models: newFakeModels(), Jobs: &fakeJobs{}}, true},
		{"no backbone", tlhttp.Options{Models: newFakeModels(), Jobs: &fakeJobs{}}, false},
		{"no jobs", tlhttp.Options{Backbone: &fakeBackbone{}, Models: newFakeModels()}, false},
		{"negative limit", tlhttp.Options{Backbone: &fakeBackbone{}, Models: newFakeModels(), Jobs: &fakeJobs{}, MaxFiles: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tlhttp.NewServer(tt.o)
			if (err == nil) != tt.ok {
				t.Errorf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestFinetuneInvalidFilesDetail(t *testing.T) {
	e := newEnv(t, nil)
	ct, body := multipartBody(t, part{"warm", "r.png", solidPNG(t, 2, 2, red)}, part{"cold", "x.txt", []byte("not an image")},
		part{"cold", "b.png", solidPNG(t, 2, 2, blue)}, part{"cold", "t.jpg", truncatedJPEG(t)})
	rec := e.do(t, "POST", "/finetune?model=m", ct, body)
	got := decode[struct {
		Error struct {
			Code  string `json:"code"`
			Files []struct {
				File, Label, Reason string
			} `json:"files"`
		} `json:"error"`
	}](t, rec)
	var files []string
	for _, f := range got.Error.Files {
		files = append(files, f.Label+"/"+f.File)
		if f.Reason == "" {
			t.Errorf("no reason for %s", f.File)
		}
	}
	if rec.Code != 400 || got.Error.Code != "invalid_files" || fmt.Sprint(files) != "[cold/x.txt cold/t.jpg]" {
		t.Errorf("status %d, code %q, files %v", rec.Code, got.Error.Code, files)
	}
}

// TestFinetuneArchivesShareLimits checks that the archive limits bound a
// whole upload, not each archive part: otherwise many small zip bombs in
// one multipart body could each inflate to the full limit.
func TestFinetuneArchivesShareLimits(t *testing.T) {
	r, b := solidPNG(t, 4, 4, red), solidPNG(t, 4, 4, blue)
	size := int64(len(r) + len(b))
	archive := func(i int) []byte {
		return zipBody(t, map[string][]byte{fmt.Sprintf("warm/r%d.png", i): r, fmt.Sprintf("cold/b%d.png", i): b})
	}
	tests := []struct {
		name     string
		archives int
		status   int
		code     string
	}{
		{"one archive within the limit", 1, 202, ""},
		{"two archives within the limit", 2, 202, ""},
		{"three archives over the limit together", 3, 413, "archive_too_large"},
		{"four archives over the file limit together", 4, 413, "too_many_files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *tlhttp.Options) {
				o.ArchiveMaxBytes = 2*size + size/2
				if tt.code == "too_many_files" {
					o.ArchiveMaxBytes = 100 * size
				}
				o.MaxFiles = 7
			})
			var parts []part
			for i := range tt.archives {
				parts = append(parts, part{"", fmt.Sprintf("set%d.zip", i), archive(i)})
			}
			ct, body := multipartBody(t, parts...)
			rec := e.do(t, "POST", "/finetune?model=m", ct, body)
			if tt.code == "" {
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				return
			}
			checkError(t, rec, tt.status, tt.code)
		})
	}
}
