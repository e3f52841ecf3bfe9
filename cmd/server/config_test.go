package main

import (
	"io"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config)
		ok    bool
	}{
		{"defaults", nil, nil, func(t *testing.T, c config) {
			if c.Addr != ":8080" || c.Model != "models/resnet50.onnx" || c.DataDir != "data" ||
				c.PredictMaxBytes != 16<<20 || c.FinetuneMaxBytes != 512<<20 || c.ArchiveMaxBytes != 1<<30 || c.QueueSize != 8 || c.LogFormat != "text" || c.ReadTimeout != 10*time.Minute {
				t.Errorf("defaults %+v", c)
			}
		}, true},
		{"env fallback", nil, map[string]string{"TLSERVE_ADDR": ":9000", "TLSERVE_MODEL": "m.onnx", "TLSERVE_DATA_DIR": "/d",
			"TLSERVE_MAX_PREDICT_BYTES": "1MiB", "TLSERVE_JOB_TIMEOUT": "5m", "TLSERVE_QUEUE_SIZE": "3"}, func(t *testing.T, c config) {
			if c.Addr != ":9000" || c.Model != "m.onnx" || c.DataDir != "/d" || c.PredictMaxBytes != 1<<20 || c.JobTimeout != 5*time.Minute || c.QueueSize != 3 {
				t.Errorf("from env %+v", c)
			}
		}, true},
		{"flag wins over env", []string{"-addr", ":7000", "-max-finetune-bytes", "2GiB"}, map[string]string{"TLSERVE_ADDR": ":9000"}, func(t *testing.T, c config) {
			if c.Addr != ":7000" || c.FinetuneMaxBytes != 2<<30 {
				t.Errorf("flags %+v", c)
			}
		}, true},
		{"plain and decimal sizes", []string{"-max-predict-bytes", "1000", "-max-finetune-bytes", "5MB"}, nil, func(t *testing.T, c config) {
			if c.PredictMaxBytes != 1000 || c.FinetuneMaxBytes != 5e6 {
				t.Errorf("sizes %d %d", c.PredictMaxBytes, c.FinetuneMaxBytes)
			}
		}, true},
		{"archive limit from env", nil, map[string]string{"TLSERVE_MAX_ARCHIVE_BYTES": "2GiB"}, func(t *testing.T, c config) {
			if c.ArchiveMaxBytes != 2<<30 {
				t.Errorf("archive limit %d, want 2 GiB", c.ArchiveMaxBytes)
			}
		}, true},
		{"read timeout", nil, map[string]string{"TLSERVE_READ_TIMEOUT": "90s"}, func(t *testing.T, c config) {
			if c.ReadTimeout != 90*time.Second {
				t.Errorf("read timeout %v, want 90s", c.ReadTimeout)
			}
		}, true},
		{"negative read timeout", []string{"-read-timeout", "-1s"}, nil, nil, false},
		{"zero archive limit", []string{"-max-archive-bytes", "0"}, nil, nil, false},
		{"bad size", []string{"-max-predict-bytes", "lots"}, nil, nil, false},
		{"bad env", nil, map[string]string{"TLSERVE_QUEUE_SIZE": "many"}, nil, false},
		{"zero queue", []string{"-queue-size", "0"}, nil, nil, false},
		{"negative threads", []string{"-threads", "-1"}, nil, nil, false},
		{"stray argument", []string{"extra"}, nil, nil, false},
		{"unknown flag", []string{"-nope"}, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			c, err := parseConfig(tt.args, getenv, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		ok            bool
	}{
		{"info", "text", true}, {"debug", "json", true}, {"WARN", "text", true},
		{"loud", "text", false}, {"info", "xml", false},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			if _, err := newLogger(io.Discard, tt.level, tt.format); (err == nil) != tt.ok {
				t.Errorf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestByteSizeRoundTrip(t *testing.T) {
	tests := []struct {
		in, out string
		n       int64
	}{
		{"16MiB", "16MiB", 16 << 20}, {"512 MiB", "512MiB", 512 << 20}, {"2GiB", "2GiB", 2 << 30},
		{"1536KiB", "1536KiB", 1536 << 10}, {"1000", "1000", 1000}, {"5MB", "5000000", 5e6}, {"0", "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b byteSize
			if err := b.Set(tt.in); err != nil || int64(b) != tt.n || b.String() != tt.out {
				t.Errorf("Set(%q): %d %q %v, want %d %q", tt.in, int64(b), b.String(), err, tt.n, tt.out)
			}
		})
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "9999999999GiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted as %d", bad, int64(b))
		}
	}
}
