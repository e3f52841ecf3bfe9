package main

// The end-to-end test runs the real server (SqueezeNet from ../shared, the
// real store, job queue, fine-tuning and HTTP API) on a loopback listener
// and drives it over HTTP, as a user would with curl.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/refdata"
)

// server is one running instance.
type server struct {
	base string
	stop func() error
}

// startServer runs serve on a loopback port until stop is called, and
// waits for /readyz.
func startServer(t *testing.T, model, dataDir string) *server {
	t.Helper()
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-model", model, "-data-dir", dataDir, "-shutdown-timeout", "20s"},
		func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logger, func(a string) { addr <- a }) }()
	var s server
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	s.stop = func() error { cancel(); return <-done }
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (s *server) do(t *testing.T, method, path, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// file is one multipart file part; an empty field leaves the name out.
type file struct {
	field, name string
	data        []byte
}

func multipartBody(t *testing.T, files []file) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		h := make(textproto.MIMEHeader)
		disp := "form-data"
		if f.field != "" {
			disp += fmt.Sprintf("; name=%q", f.field)
		}
		h.Set("Content-Disposition", disp+fmt.Sprintf("; filename=%q", f.name))
		h.Set("Content-Type", "image/png")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

type prediction struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

type predictResponse struct {
	Model       string       `json:"model"`
	Version     int          `json:"version"`
	Predictions []prediction `json:"predictions"`
	Results     []struct {
		File        string       `json:"file"`
		Predictions []prediction `json:"predictions"`
	} `json:"results"`
}

type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

type job struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Error    string `json:"error"`
	Progress *struct {
		Phase       string
		Done, Total int
	} `json:"progress"`
	History []struct {
		Epoch       int     `json:"epoch"`
		ValAccuracy float64 `json:"val_accuracy"`
	} `json:"history"`
	Result *struct {
		Version int `json:"version"`
		Metrics struct {
			ValAccuracy float64 `json:"val_accuracy"`
			Confusion   [][]int `json:"confusion_matrix"`
		} `json:"metrics"`
	} `json:"result"`
}

type modelInfo struct {
	Name          string   `json:"name"`
	ActiveVersion int      `json:"active_version"`
	Labels        []string `json:"labels"`
	Versions      []struct {
		Version int `json:"version"`
	} `json:"versions"`
}

// submit posts a fine-tune upload and returns the queued job.
func (s *server) submit(t *testing.T, query string, files []file) job {
	t.Helper()
	ct, body := multipartBody(t, files)
	r := s.do(t, "POST", "/finetune?"+query, ct, body)
	if r.status != http.StatusAccepted {
		t.Fatalf("finetune: %d %s", r.status, r.body)
	}
	var j job
	r.json(t, &j)
	if loc := r.header.Get("Location"); loc != "/finetune/"+j.ID {
		t.Errorf("Location %q for job %q", loc, j.ID)
	}
	return j
}

// wait polls a job until it reaches a final status.
func (s *server) wait(t *testing.T, id string, limit time.Duration) job {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		var j job
		r := s.do(t, "GET", "/finetune/"+id, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("job %s: %d %s", id, r.status, r.body)
		}
		r.json(t, &j)
		switch j.Status {
		case "succeeded", "failed", "canceled":
			return j
		}
		if p := j.Progress; p != nil {
			if now := fmt.Sprintf("%s %s", j.Status, p.Phase); now != last {
				t.Logf("job %s: %s %d/%d", id, now, p.Done, p.Total)
				last = now
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %v", id, j.Status, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pngHeader is a PNG signature and IHDR chunk claiming w×h pixels, and no
// pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// fashionClasses are field-safe names of the Fashion-MNIST classes, by
// label index.
var fashionClasses = []string{"tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"}

// fashion is a Fashion-MNIST split as PNG files.
type fashion struct {
	images [][]byte
	labels []int
}

// loadFashion reads the idx files of a split ("train" or "t10k") and
// encodes its first n images as PNG, or skips when the Debian package
// dataset-fashion-mnist is not installed.
func loadFashion(t *testing.T, split string, n int) fashion {
	t.Helper()
	read := func(name string) []byte {
		f, err := os.Open(refdata.FashionMNIST(t, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	imgs := read(split + "-images-idx3-ubyte.gz")
	labs := read(split + "-labels-idx1-ubyte.gz")
	if binary.BigEndian.Uint32(imgs) != 2051 || binary.BigEndian.Uint32(labs) != 2049 {
		t.Fatalf("%s: not idx image/label files", split)
	}
	count := int(binary.BigEndian.Uint32(imgs[4:]))
	rows, cols := int(binary.BigEndian.Uint32(imgs[8:])), int(binary.BigEndian.Uint32(imgs[12:]))
	n = min(n, count)
	var out fashion
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, cols, rows))
		copy(img.Pix, imgs[16+i*rows*cols:16+(i+1)*rows*cols])
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		out.images = append(out.images, b.Bytes())
		out.labels = append(out.labels, int(labs[8+i]))
	}
	return out
}

// perClass picks the images from index from on, up to k per class.
func (f fashion) perClass(k, from int) []file {
	count := make([]int, len(fashionClasses))
	var files []file
	for i := from; i < len(f.images); i++ {
		c := f.labels[i]
		if count[c] < k {
			count[c]++
			files = append(files, file{fashionClasses[c], fmt.Sprintf("train-%05d.png", i), f.images[i]})
		}
	}
	return files
}

// accuracy predicts images with model through /predict in batches and
// returns the fraction whose top class is the true one, and the version
// that answered.
func (s *server) accuracy(t *testing.T, model string, f fashion) (float64, int) {
	t.Helper()
	correct, version := 0, 0
	const batch = 50
	for start := 0; start < len(f.images); start += batch {
		end := min(start+batch, len(f.images))
		var files []file
		for i := start; i < end; i++ {
			files = append(files, file{"image", fmt.Sprintf("t10k-%05d.png", i), f.images[i]})
		}
		ct, body := multipartBody(t, files)
		r := s.do(t, "POST", "/predict?top_k=1&model="+model, ct, body)
		if r.status != http.StatusOK {
			t.Fatalf("predict: %d %s", r.status, r.body)
		}
		var p predictResponse
		r.json(t, &p)
		if len(p.Results) != end-start {
			t.Fatalf("%d results for %d files", len(p.Results), end-start)
		}
		version = p.Version
		for k, res := range p.Results {
			if res.File != files[k].name {
				t.Fatalf("result %d is for %q, want %q", k, res.File, files[k].name)
			}
			if res.Predictions[0].Label == fashionClasses[f.labels[start+k]] {
				correct++
			}
		}
	}
	return float64(correct) / float64(len(f.images)), version
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	model := refdata.SqueezeNet(t)
	dataDir := t.TempDir()
	dog := refdata.Image(t, "dog.jpg")
	s := startServer(t, model, dataDir)
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()

	predictDog := func(t *testing.T) {
		t.Helper()
		r := s.do(t, "POST", "/predict", "image/jpeg", dog)
		var p predictResponse
		r.json(t, &p)
		if r.status != http.StatusOK || len(p.Predictions) != 5 || p.Predictions[0].Label != "golden retriever" || p.Predictions[0].Index != 207 {
			t.Fatalf("predict dog.jpg: %d %s", r.status, r.body)
		}
	}

	t.Run("predict", func(t *testing.T) {
		predictDog(t)
		ct, body := multipartBody(t, []file{{"image", "dog.jpg", dog}})
		r := s.do(t, "POST", "/predict?top_k=2", ct, body)
		var p predictResponse
		r.json(t, &p)
		if r.status != 200 || p.Model != "imagenet" || len(p.Results) != 1 || p.Results[0].File != "dog.jpg" ||
			len(p.Results[0].Predictions) != 2 || p.Results[0].Predictions[0].Label != "golden retriever" {
			t.Errorf("multipart predict: %d %s", r.status, r.body)
		}
		r = s.do(t, "POST", "/embed", "application/octet-stream", dog)
		var e struct {
			Backbone  string    `json:"backbone"`
			Dim       int       `json:"dim"`
			Embedding []float32 `json:"embedding"`
		}
		r.json(t, &e)
		if r.status != 200 || e.Backbone != "squeezenet1.1" || e.Dim != 512 || len(e.Embedding) != 512 {
			t.Errorf("embed: %d backbone %q dim %d len %d", r.status, e.Backbone, e.Dim, len(e.Embedding))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		noLabelCT, noLabelBody := multipartBody(t, []file{{"cat", "a.jpg", dog}, {"", "b.jpg", dog}})
		cat := refdata.Image(t, "cat.jpg")
		oneClassCT, oneClassBody := multipartBody(t, []file{{"dog", "a.jpg", dog}, {"dog", "b.jpg", cat}})
		tests := []struct {
			name, method, path, ct string
			body                   []byte
			status                 int
			code                   string
		}{
			{"non-image", "POST", "/predict", "application/octet-stream", []byte("this is not an image"), 415, "unsupported_image_format"},
			{"truncated jpeg", "POST", "/predict", "image/jpeg", dog[:len(dog)/2], 400, "invalid_image"},
			{"png bomb header", "POST", "/predict", "image/png", pngHeader(50000, 50000), 413, "image_too_large"},
			{"empty body", "POST", "/predict", "image/jpeg", nil, 400, "empty_body"},
			{"unknown model", "POST", "/predict?model=nope", "image/jpeg", dog, 404, "model_not_found"},
			{"bad top_k", "POST", "/predict?top_k=-1", "image/jpeg", dog, 400, "invalid_parameter"},
			{"wrong content type", "POST", "/predict", "text/plain", dog, 415, "unsupported_media_type"},
			{"label-less part", "POST", "/finetune?model=pets", noLabelCT, noLabelBody, 400, "missing_label"},
			{"one class", "POST", "/finetune?model=pets", oneClassCT, oneClassBody, 400, "too_few_classes"},
			{"unknown job", "GET", "/finetune/nope", "", nil, 404, "job_not_found"},
			{"unknown model info", "GET", "/models/nope", "", nil, 404, "model_not_found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.do(t, tt.method, tt.path, tt.ct, tt.body)
				var e apiError
				r.json(t, &e)
				if r.status != tt.status || e.Error.Code != tt.code || e.Error.Message == "" || e.Error.RequestID == "" {
					t.Errorf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
				}
				predictDog(t) // the server keeps serving
			})
		}
	})

	var test fashion
	trained := t.Run("finetune fashion", func(t *testing.T) {
		train := loadFashion(t, "train", 2000)
		test = loadFashion(t, "t10k", 200)
		files := train.perClass(50, 0)
		if len(files) != 500 {
			t.Fatalf("%d training images, want 500", len(files))
		}
		j := s.submit(t, "model=fashion&seed=1", files)
		start := time.Now()
		j = s.wait(t, j.ID, 10*time.Minute)
		if j.Status != "succeeded" || j.Result == nil || j.Result.Version != 1 || len(j.History) == 0 {
			t.Fatalf("job %+v", j)
		}
		t.Logf("trained on 500 images in %v (%d epochs, validation accuracy %.3f)", time.Since(start).Round(time.Second),
			len(j.History), j.Result.Metrics.ValAccuracy)
		if len(j.Result.Metrics.Confusion) != 10 {
			t.Errorf("confusion matrix has %d rows, want 10", len(j.Result.Metrics.Confusion))
		}
		acc, version := s.accuracy(t, "fashion", test)
		t.Logf("held-out accuracy on %d t10k images: %.3f (chance 0.1)", len(test.images), acc)
		if version != 1 || acc < 0.5 {
			t.Errorf("accuracy %.3f with version %d, want >= 0.5 with version 1", acc, version)
		}
	})

	t.Run("second version and rollback", func(t *testing.T) {
		if !trained {
			t.Skip("needs the fashion model")
		}
		train := loadFashion(t, "train", 2000)
		j := s.submit(t, "model=fashion&epochs=5&seed=2", train.perClass(3, 1000))
		if j = s.wait(t, j.ID, 5*time.Minute); j.Status != "succeeded" || j.Result.Version != 2 {
			t.Fatalf("second job %+v", j)
		}
		var m modelInfo
		s.do(t, "GET", "/models/fashion", "", nil).json(t, &m)
		if m.ActiveVersion != 2 || len(m.Versions) != 2 || len(m.Labels) != 10 {
			t.Fatalf("after v2: %+v", m)
		}
		r := s.do(t, "POST", "/models/fashion/activate?version=1", "", nil)
		r.json(t, &m)
		if r.status != 200 || m.ActiveVersion != 1 {
			t.Fatalf("rollback: %d %s", r.status, r.body)
		}
		var p predictResponse
		s.do(t, "POST", "/predict?model=fashion", "image/png", test.images[0]).json(t, &p)
		if p.Version != 1 || p.Model != "fashion" || len(p.Predictions) != 5 {
			t.Errorf("predict after rollback: %+v", p)
		}
		var list struct{ Models []modelInfo }
		s.do(t, "GET", "/models", "", nil).json(t, &list)
		if len(list.Models) != 2 || list.Models[0].Name != "imagenet" || list.Models[1].Name != "fashion" {
			t.Errorf("models %+v", list.Models)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		train := loadFashion(t, "train", 400)
		j := s.submit(t, "model=cancelme&epochs=200&patience=200", train.perClass(20, 0))
		r := s.do(t, "DELETE", "/finetune/"+j.ID, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		if j = s.wait(t, j.ID, time.Minute); j.Status != "canceled" {
			t.Errorf("after cancel: %+v", j)
		}
		if r := s.do(t, "GET", "/models/cancelme", "", nil); r.status != http.StatusNotFound {
			t.Errorf("canceled job left a model: %d %s", r.status, r.body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		want := []string{
			"tlserve_http_request_duration_seconds_bucket{code=\"200\",method=\"POST\",route=\"/predict\"",
			"tlserve_http_requests_in_flight",
			"tlserve_inference_stage_duration_seconds_count{stage=\"decode\"}",
			"tlserve_inference_stage_duration_seconds_count{stage=\"preprocess\"}",
			"tlserve_inference_stage_duration_seconds_count{stage=\"backbone\"}",
			"tlserve_predictions_total{model=\"imagenet\"}",
			"tlserve_finetune_queue_length",
			"tlserve_embeddings_total{result=\"computed\"}",
			"tlserve_embeddings_total{result=\"reused\"}",
			"tlserve_backbone_info{embedding_dim=\"512\",id=",
			"tlserve_finetune_jobs_total{status=\"canceled\"} 1",
			"tlserve_finetune_job_duration_seconds_count",
			"go_goroutines",
			"process_cpu_seconds_total",
		}
		if trained {
			want = append(want,
				"tlserve_inference_stage_duration_seconds_count{stage=\"head\"}",
				"tlserve_predictions_total{model=\"fashion\"}",
				"tlserve_finetune_jobs_total{status=\"succeeded\"} 2")
		}
		// A job's final status is visible a moment before its metrics are
		// recorded, so give the job counters a few seconds.
		var missing []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			out := string(s.do(t, "GET", "/metrics", "", nil).body)
			missing = missing[:0]
			for _, w := range want {
				if !strings.Contains(out, w) {
					missing = append(missing, w)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
		}
		for _, m := range missing {
			t.Errorf("/metrics lacks %s", m)
		}
	})

	// A job still running at shutdown is stopped and recorded as failed.
	train := loadFashionOrNil(t)
	var interrupted job
	if train != nil {
		interrupted = s.submit(t, "model=interrupted&epochs=500&patience=500", train.perClass(30, 0))
		time.Sleep(300 * time.Millisecond)
	}
	// Shutdown drains a request in flight: it still gets its answer.
	var files []file
	for i := range 40 {
		files = append(files, file{"image", fmt.Sprintf("dog%d.jpg", i), dog})
	}
	ct, body := multipartBody(t, files)
	inflight := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.base+"/predict?top_k=1", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- response{status: resp.StatusCode, body: b}
	}()
	// The scrape itself is one request in flight; wait for the second.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		out := string(s.do(t, "GET", "/metrics", "", nil).body)
		if strings.Contains(out, "\ntlserve_http_requests_in_flight 2\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the predict request never showed as in flight")
		}
	}
	stopped = true
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if r := <-inflight; r.status != http.StatusOK || !strings.Contains(string(r.body), `"file":"dog39.jpg"`) {
		t.Errorf("request in flight at shutdown: %d %.200s", r.status, r.body)
	}

	s = startServer(t, model, dataDir)
	stopped = false
	t.Run("restart", func(t *testing.T) {
		predictDog(t)
		if interrupted.ID != "" {
			var j job
			s.do(t, "GET", "/finetune/"+interrupted.ID, "", nil).json(t, &j)
			if j.Status != "failed" || !strings.Contains(j.Error, "interrupted") {
				t.Errorf("interrupted job after restart: %+v", j)
			}
		}
		if !trained {
			t.Skip("needs the fashion model")
		}
		var m modelInfo
		s.do(t, "GET", "/models/fashion", "", nil).json(t, &m)
		if m.ActiveVersion != 1 || len(m.Versions) != 2 {
			t.Errorf("fashion after restart: %+v", m)
		}
		acc, version := s.accuracy(t, "fashion", fashion{test.images[:50], test.labels[:50]})
		if version != 1 || acc < 0.5 {
			t.Errorf("after restart: accuracy %.3f on 50 images with version %d", acc, version)
		}
	})
}

// loadFashionOrNil loads a small training set, or returns nil when the
// dataset is not installed.
func loadFashionOrNil(t *testing.T) *fashion {
	t.Helper()
	if _, err := os.Stat(filepath.Join(refdata.FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		return nil
	}
	f := loadFashion(t, "train", 400)
	return &f
}

func TestMissingModel(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-model", filepath.Join(t.TempDir(), "none.onnx"), "-data-dir", t.TempDir()},
		func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil || !strings.Contains(err.Error(), "make model") || !strings.Contains(err.Error(), "scripts/get-model.sh") {
		t.Errorf("err %v, want a message saying how to get a model", err)
	}
}
