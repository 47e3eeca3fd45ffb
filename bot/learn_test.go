package bot_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// dangers are emergencies told as residents tell them: shouts with particles other than 了, typed
// in pinyin, seen by a bystander, the signs rather than the word.
var dangers = []string{
	"失火啦", "起火啦", "救命啊着火啦", "煤气漏啦", "着火咯快来人", "救命",
	"zhao huo le kuai lai ren", "jiu ming a",
	"街上有人打起来了 拿着砖头往头上砸", "路边有个老太太摔倒了 头上一直流血 叫她也不应",
	"媳妇要生了 肚子疼得厉害 家里没车", "插线板冒火花 窗帘都着了", "隔壁院子着火了 风一刮往俺家这边烧过来了",
}

func TestDangersAreEmergencies(t *testing.T) {
	for _, q := range dangers {
		if d := decide(t, q); d.Decision != bot.Emergency || !strings.Contains(d.Text, "1") {
			t.Errorf("%s: %s/%s, want an emergency with its numbers first", q, d.Decision, d.Topic)
		}
	}
}

// flows puts a chat in each state a flow can wait in.
var flows = []struct {
	name  string
	enter func(c *chat)
	flow  intake.Flow
}{
	{"report asking for the place", func(c *chat) { c.ask("俺们楼门口的路灯坏了好几天了") }, "report"},
	{"report asking for a phone", func(c *chat) { c.ask("俺们楼门口的路灯坏了好几天了"); c.ask("虹亚小区3号楼门口") }, "report"},
	{"report asking to confirm", func(c *chat) {
		c.ask("俺们楼门口的路灯坏了好几天了")
		c.ask("虹亚小区3号楼门口")
		c.ask("13812345678")
	}, "report"},
	{"status asking for the number", func(c *chat) { c.ask("我反映的事到哪一步了") }, "status"},
	{"a note for the staff", func(c *chat) { c.ask("转人工"); c.choose("leave_message") }, "report"},
	{"contact asking for the community", func(c *chat) { c.ask("俺们网格员电话多少") }, ""},
}

func TestNoFlowTrapsAResident(t *testing.T) {
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			for _, q := range dangers {
				c := newChat(t, "")
				f.enter(c)
				if c.st.Flow != f.flow {
					t.Fatalf("entering: flow %q, want %q", c.st.Flow, f.flow)
				}
				r := c.ask(q)
				if r.Decision != bot.Emergency {
					t.Errorf("%s: %s/%s %q, want the emergency", q, r.Decision, r.Topic, r.Text)
				}
				if c.st.Address == q || c.st.Description == q && f.flow == "report" && !c.st.Emergency {
					t.Errorf("%s was read as the answer to the pending question: %+v", q, c.st)
				}
			}
			for _, q := range []string{"我要找人工客服", "转人工", "zhuan rengong"} {
				c := newChat(t, "")
				f.enter(c)
				if r := c.ask(q); r.Decision != bot.Handoff {
					t.Errorf("%s: %s %q, want the handoff", q, r.Decision, r.Text)
				}
			}
		})
	}
}

// An emergency's own report goes on when the resident says where it is, even in words of the
// same danger.
func TestEmergencyReportTakesThePlace(t *testing.T) {
	c := newChat(t, "wy-jinqiao")
	if r := c.ask("着火了 快来人"); r.Decision != bot.Emergency {
		t.Fatalf("got %s", r.Decision)
	}
	c.ask("虹亚小区5号楼着火了")
	if c.st.Flow != "report" || c.st.Address != "虹亚小区5号楼着火了" || c.st.Step != "phone" {
		t.Errorf("the place of the fire should be taken: %+v", c.st)
	}
}

func TestVagueMessagesAreAskedAbout(t *testing.T) {
	for _, q := range []string{"办个证咋弄", "卡丢了咋整", "申请那个东西"} {
		d := decide(t, q)
		if d.Decision != bot.Clarify || len(d.Options) == 0 {
			t.Errorf("%s: %s/%s, want a question with options", q, d.Decision, d.Topic)
		}
	}
}

// A guide whose entries change retrains the model: a new topic with five examples is answered,
// from a message none of them says.
func TestANewTopicIsLearned(t *testing.T) {
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		t.Fatal(err)
	}
	spec.Topics["bike-parking"] = search.SpecTopic{ID: "bike-parking", Kind: search.KindProcedure, Category: "community", Title: "电动车集中停放点"}
	fsys := fstest.MapFS{}
	err = fs.WalkDir(search.SampleGuide(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(search.SampleGuide(), p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys["entries/bike-parking.yaml"] = &fstest.MapFile{Data: []byte(`id: bike-parking
kind: procedure
category: community
title: 电动车集中停放点
keywords: [停放点, 车棚]
examples:
  - 小区电动车集中停放点在哪
  - 新建的车棚能不能停电动车
  - 电动车停放点收费不
  - 车棚办停车卡找谁
  - 集中停放点晚上几点锁门
answer:
  short: 电动车请停到小区集中停放点（车棚），办停车卡找物业或社区。
  summary: 小区电动车集中停放点由物业管理，办卡后可停放充电。
`)}
	g, problems := search.Load(fsys, spec)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	idx, an := indexOf(t, g)
	b, err := bot.New(g, idx, an)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Decide(context.Background(), bot.Message{Text: "俺家电瓶车能停到哪个车棚"})
	if err != nil {
		t.Fatal(err)
	}
	// Learned: the new topic is the most probable label, answered or (five examples are few, and
	// whether the bot is sure enough moves with the calibration) offered first.
	if d.Topic != "bike-parking" || len(d.Labels) == 0 || d.Labels[0].Label != "bike-parking" ||
		d.Decision != bot.Answer && (d.Decision != bot.Clarify || len(d.Options) == 0 || d.Options[0].ID != "bike-parking") {
		t.Errorf("got %s/%s %v %v, want the new topic answered or offered first", d.Decision, d.Topic, d.Labels, d.Options)
	}
	// And the old guide's bot never heard of it.
	if d := decide(t, "俺家电瓶车能停到哪个车棚"); d.Topic == "bike-parking" {
		t.Error("the sample bot knows a topic it was never taught")
	}
}

// The same guide loaded twice trains once: the second bot shares the first one's model.
func TestTheSameGuideTrainsOnce(t *testing.T) {
	g := sampleGuide(t)
	idx, an := indexOf(t, g)
	n := bot.Trainings()
	b1, err := bot.New(g, idx, an)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := bot.New(g, idx, an)
	if err != nil {
		t.Fatal(err)
	}
	if !bot.SameModel(b1, b2) || bot.Trainings() > n+1 {
		t.Error("the same guide was trained twice")
	}
}

// Every labelled emergency of the guide, asked while a report waits for its place or a status
// lookup for its number, gets the numbers in that first reply: as the emergency when the model
// is sure of it, else before whatever the flow says next.
// While a person is involved (waiting for an operator, or talking to one) the bot answers only
// through Danger: every labelled emergency still gets the numbers in that first reply.
func TestEveryEmergencyGetsTheNumbersWhileAPersonIsInvolved(t *testing.T) {
	b, g := newBot(t)
	n := 0
	for _, l := range g.Training {
		if e, ok := g.Entry(l.Label); !ok || e.Kind != search.KindEmergency {
			continue
		}
		n++
		r, _, _, ok := b.Danger(context.Background(), "m", bot.Message{Text: l.Q})
		if !ok || !strings.Contains(r.Text, "110") && !strings.Contains(r.Text, "119") && !strings.Contains(r.Text, "120") {
			t.Errorf("%s: no numbers while a person is involved (%q)", l.Q, r.Text)
		}
	}
	if n == 0 {
		t.Fatal("the guide has no labelled emergency: nothing was checked")
	}
}

func TestEveryEmergencyGetsTheNumbersInsideAFlow(t *testing.T) {
	_, g := newBot(t)
	for _, l := range g.Training {
		e, ok := g.Entry(l.Label)
		if !ok || e.Kind != search.KindEmergency {
			continue
		}
		for _, f := range flows[:4] {
			c := newChat(t, "")
			f.enter(c)
			r := c.ask(l.Q)
			if r.Decision != bot.Emergency && !strings.HasPrefix(r.Text, numbersFirst) {
				t.Errorf("%s, %s: %s %q, want the numbers first", f.name, l.Q, r.Decision, r.Text)
			}
		}
	}
	// Messages that may be danger without the model being sure (their first reply outside a flow
	// opens with the numbers, though it is no emergency) keep the numbers inside a flow too.
	maybe := 0
	for _, q := range []string{"头有点晕", "楼上掉下来个花盆把车砸了", "打了好几回电话没反应", "想申请个东西"} {
		if d := decide(t, q); d.Decision == bot.Emergency || !strings.HasPrefix(d.Text, numbersFirst) {
			continue
		}
		maybe++
		for _, f := range flows[:4] {
			c := newChat(t, "")
			f.enter(c)
			if r := c.ask(q); r.Decision != bot.Emergency && !strings.HasPrefix(r.Text, numbersFirst) {
				t.Errorf("%s, %s: %s %q, want the numbers first", f.name, q, r.Decision, r.Text)
			}
		}
	}
	if maybe == 0 {
		t.Fatal("no message of the guide may be danger without being sure: nothing was checked")
	}
}

const numbersFirst = "如果有人身危险，请立即拨打"
