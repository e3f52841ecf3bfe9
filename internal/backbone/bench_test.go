package backbone_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/backbone"
	"github.com/tlserve/tlserve/internal/refdata"
)

// stageTimer sums the time of each stage.
type stageTimer map[string]time.Duration

func (s stageTimer) ObserveStage(stage string, d time.Duration) { s[stage] += d }

// BenchmarkEmbed embeds n copies of a photo per call and reports the time
// per image of each stage. The 1080x1080 JPEG shows the decode cost of a
// real photo; the 224x224 PNG shows the network alone.
func BenchmarkEmbed(b *testing.B) {
	path := refdata.SqueezeNet(b)
	for _, file := range []string{"dog.jpg", "kitten_224.png"} {
		img := refdata.Image(b, file)
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/n=%d", file, n), func(b *testing.B) {
				st := stageTimer{}
				bb, err := backbone.New(backbone.Options{ModelPath: path, BatchSize: n, Observer: st})
				if err != nil {
					b.Fatal(err)
				}
				defer bb.Close()
				images := make([][]byte, n)
				for i := range images {
					images[i] = img
				}
				if _, err := bb.Embed(context.Background(), images); err != nil {
					b.Fatal(err)
				}
				clear(st)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := bb.Embed(context.Background(), images); err != nil {
						b.Fatal(err)
					}
				}
				imgs := float64(b.N * n)
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/imgs, "ms/image")
				for _, s := range []string{backbone.StageDecode, backbone.StagePreprocess, backbone.StageBackbone} {
					b.ReportMetric(float64(st[s].Microseconds())/1000/imgs, s+"-ms/image")
				}
			})
		}
	}
}
