package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bayannur/hotline/internal/testkit"
)

// TestAnsweredTurnsSurviveKill9: every reply a resident has been sent is stored (its turns are
// committed before the reply goes out), so a node killed with SIGKILL the instant after the last
// reply — no shutdown, no flush — comes back with the whole conversation: the widget resuming it
// gets each question and each answer it was shown.
func TestAnsweredTurnsSurviveKill9(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	addr := testkit.FreeAddr(t)
	args := []string{"--addr", addr, "--data", data}
	s := testkit.Serve(t, addr, nil, args...)
	s.WaitStatus(t, "/readyz", http.StatusOK, 60*time.Second)

	wsURL := "ws://" + addr + "/ws/chat"
	res := dialPeer(t, "resident", wsURL, nil)
	res.send(map[string]string{"type": "hello"})
	session, _ := res.want("welcome", nil)["session"].(string)
	questions := []string{"低保咋申请", "俺家暖气不热", "找网格员", "路灯坏了好几天了", "居住证怎么办"}
	var answers []string
	for i, q := range questions {
		id := fmt.Sprintf("q%d", i)
		res.send(map[string]string{"type": "ask", "id": id, "text": q})
		f := res.want("reply", func(f map[string]any) bool { return f["reply_to"] == id })
		answers = append(answers, f["text"].(string))
	}
	// The trained model is kept in the data directory (bot.NewKept, bot/modelfile).
	models, _ := filepath.Glob(filepath.Join(data, "models", "model-*.bin"))
	if len(models) != 1 {
		t.Fatalf("models kept: %v, want one", models)
	}
	kept, err := os.Stat(models[0])
	if err != nil {
		t.Fatal(err)
	}
	// The last reply is in hand: kill the node at once.
	if err := syscall.Kill(s.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "the killed node to exit", s.Exited)

	s = testkit.Serve(t, addr, nil, args...)
	s.WaitStatus(t, "/readyz", http.StatusOK, 60*time.Second)
	// Same guide, same build: the restarted node loaded the model rather than train and rewrite it.
	if again, err := os.Stat(models[0]); err != nil || !again.ModTime().Equal(kept.ModTime()) {
		t.Errorf("after the restart the kept model is %v (%v), want it loaded as it was", again, err)
	}
	back := dialPeer(t, "resident again", wsURL, nil)
	back.send(map[string]string{"type": "hello", "session": session})
	w := back.want("welcome", nil)
	if w["resumed"] != true {
		t.Fatalf("the welcome after the restart: %v; want the conversation resumed", w)
	}
	history, _ := w["history"].([]any)
	var said []string
	for _, h := range history {
		turn, _ := h.(map[string]any)
		text, _ := turn["text"].(string)
		said = append(said, text)
	}
	for i := range questions {
		if !slices.Contains(said, questions[i]) || !slices.Contains(said, answers[i]) {
			t.Errorf("after kill -9 the history %q lacks question %d (%s) or its answer", said, i, questions[i])
		}
	}
	stop(t, s)
}
