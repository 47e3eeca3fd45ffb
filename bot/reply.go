package bot

import (
	"fmt"
	"strings"

	"github.com/bayannur/hotline/search"
)

const (
	statusText           = "想查之前反映的问题办到哪一步了？请告诉我工单号（如 20261125-0007）和您留的手机号后四位，我帮您查。"
	handoffText          = "好的，正在为您转接人工客服，请稍候。如果暂时没有人接，您可以先留言，我们会尽快联系您。"
	smalltalkText        = "您好！我是社区服务小助手。您可以直接说想办的事（比如低保咋申请）或遇到的问题（比如暖气不热），我帮您查、帮您报。"
	declineText          = "这个问题我帮不上忙。我能解答社区办事、反映身边的问题、找网格员，您可以换个说法再问，或者转人工。"
	clarifyText          = "您想问的是下面哪一项？点一下就行，也可以换个说法再说一遍。"
	emergencyNumbersText = "如果有人身危险，请立即拨打：报警 110，火警 119，急救 120，燃气抢修 0478-555-0119。"
	askCommunityText     = "请问您住在哪个社区或哪个小区？告诉我小区名或楼号，我把对应的网格员和社区电话发给您。"
)

// renderEntry writes an entry's answer for a person to read.
func renderEntry(e *search.Entry) string {
	var b strings.Builder
	if e.Kind == search.KindEmergency && e.Emergency != nil {
		b.WriteString("【紧急】请立即拨打：")
		for i, n := range e.Emergency.Numbers {
			if i > 0 {
				b.WriteString("，")
			}
			fmt.Fprintf(&b, "%s %s", n.Name, n.Number)
		}
		b.WriteString("\n现在就做：\n")
		for i, s := range e.Emergency.DoNow {
			fmt.Fprintf(&b, "%d. %s\n", i+1, s)
		}
		b.WriteString(e.Answer.Summary)
		return strings.TrimSpace(b.String())
	}
	fmt.Fprintf(&b, "【%s】%s", e.Title, e.Answer.Summary)
	a := e.Answer
	list := func(label string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s：", label)
		for i, it := range items {
			fmt.Fprintf(&b, "\n%d. %s", i+1, it)
		}
	}
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "\n%s：%s", label, v)
		}
	}
	list("条件", a.Conditions)
	list("材料", a.Materials)
	line("地点", string(a.Where))
	line("时间", string(a.Hours))
	line("电话", string(a.Phone))
	list("步骤", a.Steps)
	line("时限", string(a.TimeLimit))
	if e.Kind == search.KindReport {
		b.WriteString("\n\n需要我帮您登记工单吗？请说一下具体地点，并留个联系电话。")
	}
	return b.String()
}

// renderTown writes a town's office and asks which of its communities.
func renderTown(t *search.Town) string {
	var b strings.Builder
	b.WriteString(t.Name)
	if t.Office.Phone != "" {
		fmt.Fprintf(&b, "\n便民服务中心电话：%s", t.Office.Phone)
	}
	if t.Office.Address != "" {
		fmt.Fprintf(&b, "\n地址：%s", t.Office.Address)
	}
	if t.Office.Hours != "" {
		fmt.Fprintf(&b, "\n办公时间：%s", t.Office.Hours)
	}
	var names []string
	for _, c := range t.Communities {
		names = append(names, c.Name)
	}
	if len(names) > 0 {
		fmt.Fprintf(&b, "\n下设社区：%s", strings.Join(names, "、"))
	}
	b.WriteString("\n" + askCommunityText)
	return b.String()
}

// renderCard writes a contact card for a person to read.
func renderCard(c *ContactCard) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Town, c.Community)
	if c.Compound != "" {
		fmt.Fprintf(&b, "（%s）", c.Compound)
	}
	if c.Phone != "" {
		fmt.Fprintf(&b, "\n社区电话：%s", c.Phone)
	}
	if c.Address != "" {
		fmt.Fprintf(&b, "\n办公地址：%s", c.Address)
	}
	if c.Hours != "" {
		fmt.Fprintf(&b, "\n办公时间：%s", c.Hours)
	}
	if c.Grid != "" {
		fmt.Fprintf(&b, "\n%s（%s）：", c.Grid, c.Tier)
	}
	for _, p := range c.People {
		fmt.Fprintf(&b, "\n%s %s %s", p.Role, p.Name, p.Phone)
		if p.Hours != "" {
			fmt.Fprintf(&b, "（%s）", p.Hours)
		}
	}
	return b.String()
}
