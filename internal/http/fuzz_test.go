package http_test

import (
	"bytes"
	"encoding/json"
	"image/color"
	"net/http/httptest"
	"testing"
)

// FuzzUpload sends arbitrary bodies and content types to /predict and
// /finetune: every answer must be a success or a JSON client error, never
// a panic or a 500.
func FuzzUpload(f *testing.F) {
	img := solidPNG(f, 4, 4, color.RGBA{200, 30, 30, 255})
	ct, mp := multipartBody(f, part{"warm", "a.png", img}, part{"cold", "b.png", solidPNG(f, 4, 4, blue)})
	f.Add("/predict", "image/png", img)
	f.Add("/predict", ct, mp)
	f.Add("/finetune?model=m", ct, mp)
	f.Add("/finetune?model=m", "application/zip", zipBody(f, map[string][]byte{"a/1.png": img, "b/1.png": img}))
	f.Add("/predict", "image/png", pngHeader(50000, 50000))
	f.Add("/predict", "image/jpeg", truncatedJPEG(f))
	f.Add("/predict", "multipart/form-data; boundary=x", []byte("--x\r\n\r\n--x--"))
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, target, contentType string, body []byte) {
		if target != "/predict" && target != "/finetune?model=m" {
			target = "/predict"
		}
		req := httptest.NewRequest("POST", target, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var b apiErr
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" {
				t.Fatalf("status %d with body %s", rec.Code, rec.Body)
			}
		}
	})
}
