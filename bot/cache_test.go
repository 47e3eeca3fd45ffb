package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/bot/modelfile"
)

// A node keeps its trained model in its data directory: restarted on the same guide and build it
// loads the model, which decides as the trained one did; a damaged file is trained anew and
// replaced, and only the latest model is kept.
func TestModelKeptOnDisk(t *testing.T) {
	g := sampleGuide(t)
	idx, an := indexOf(t, g)
	dir := filepath.Join(t.TempDir(), "models")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model-of-an-old-guide.bin"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	kept := func() []string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	start := func() *bot.Bot {
		t.Helper()
		bot.ForgetModels() // a new process: nothing in memory
		b, err := bot.NewKept(g, idx, an, modelfile.Dir(dir))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	n := bot.Trainings()
	first := start()
	files := kept()
	if bot.Trainings() != n+1 || len(files) != 1 || filepath.Base(files[0]) == "model-of-an-old-guide.bin" {
		t.Fatalf("first start: %d trainings, files %v: want one model trained and kept, the old one gone", bot.Trainings()-n, files)
	}
	second := start()
	if bot.Trainings() != n+1 {
		t.Fatal("the second start trained again instead of loading the kept model")
	}
	for _, q := range []string{"低保咋申请", "楼下着火了", "金桥小区3号楼2单元门口", "俺们网格员电话多少", "转人工"} {
		a, err1 := first.Decide(context.Background(), bot.Message{Text: q})
		b, err2 := second.Decide(context.Background(), bot.Message{Text: q})
		if err1 != nil || err2 != nil || a.Decision != b.Decision || a.Topic != b.Topic || !slices.Equal(a.Labels, b.Labels) {
			t.Errorf("%s: trained %s/%s %v, loaded %s/%s %v", q, a.Decision, a.Topic, a.Labels, b.Decision, b.Topic, b.Labels)
		}
	}

	if err := os.WriteFile(files[0], []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	start()
	if bot.Trainings() != n+2 {
		t.Fatal("a damaged model file was not trained anew")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.Decode(data); err != nil || len(kept()) != 1 {
		t.Errorf("the damaged file was not replaced: %v, files %v", err, kept())
	}
}
