package profile_test

import (
	"io/fs"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/profile"
)

// FuzzParse feeds arbitrary YAML to the profile parser: it must return a
// profile or an error, never panic.
func FuzzParse(f *testing.F) {
	src := profile.Embedded()
	_ = fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := fs.ReadFile(src.FS, p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte("vendor: [\n"))
	f.Add([]byte("downlinks: [{name: x, fport: 1, template: \"{\"}]"))
	reg := registry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.Parse("fuzz/x", "x.yaml", data, reg)
		if err == nil {
			for _, c := range p.Commands {
				_, _ = c.Build(map[string]float64{"period": 600, "interval": 600})
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	set, err := profile.Load(registry(b), profile.Embedded())
	if err != nil {
		b.Fatal(err)
	}
	in := codectest.Examples(b, "Decentlab", "DL-IAM")[0].Input(1)
	in.RecvTime = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := set.Decode("decentlab/dl-iam", in, "a840410000000001"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}
