package bot

import (
	"fmt"
	"strings"

	"github.com/bayannur/hotline/intake"
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

// reportQuestion closes a report entry's answer: the resident is offered a ticket at once.
const reportQuestion = "需要我帮您登记工单吗？请说一下具体地点，并留个联系电话。"

// renderEntry writes an entry's answer for a person to read on a phone: text, what the chat
// bubble shows — the short answer (an emergency's starts with the numbers and goes on with what to
// do this minute; a report's ends with the offer of a ticket) — and the sections the person may
// unfold, only those the entry has, list items numbered.
func renderEntry(e *search.Entry) (text string, more []intake.Section) {
	var b strings.Builder
	a := e.Answer
	short := strings.TrimSpace(a.Short)
	if e.Kind == search.KindEmergency && e.Emergency != nil {
		// Numbers first, and what to do now without a tap: people in danger read no further.
		if short == "" {
			b.WriteString(callNow(e.Emergency.Numbers))
		} else {
			b.WriteString(short)
		}
		b.WriteString("\n现在就做：")
		for i, s := range e.Emergency.DoNow {
			fmt.Fprintf(&b, "\n%d. %s", i+1, s)
		}
	} else {
		if short == "" {
			short = a.Summary // a guide written before answer.short
		}
		fmt.Fprintf(&b, "【%s】%s", e.Title, short)
		if e.Kind == search.KindReport {
			b.WriteString("\n\n" + reportQuestion)
		}
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		lines := make([]string, len(items))
		for i, it := range items {
			lines[i] = fmt.Sprintf("%d. %s", i+1, it)
		}
		more = append(more, intake.Section{Title: title, Text: strings.Join(lines, "\n")})
	}
	line := func(title string, v search.Text) {
		if v != "" {
			more = append(more, intake.Section{Title: title, Text: string(v)})
		}
	}
	if summary := strings.TrimSpace(a.Summary); summary != "" && summary != short {
		more = append(more, intake.Section{Title: "说明", Text: summary})
	}
	list("条件", a.Conditions)
	list("材料", a.Materials)
	line("地点", a.Where)
	line("时间", a.Hours)
	line("电话", a.Phone)
	list("步骤", a.Steps)
	line("时限", a.TimeLimit)
	return b.String(), more
}

// callNow is an emergency's numbers as one line, for an entry without a short answer.
func callNow(numbers []search.Number) string {
	var b strings.Builder
	b.WriteString("请立即拨打：")
	for i, n := range numbers {
		if i > 0 {
			b.WriteString("，")
		}
		fmt.Fprintf(&b, "%s %s", n.Name, n.Number)
	}
	return b.String()
}

// FullText is a reply's text with every section after it, title then text, for where nothing
// folds: a terminal, an operator's message.
func FullText(text string, more []intake.Section) string {
	if len(more) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n")
	for _, s := range more {
		fmt.Fprintf(&b, "\n%s：\n%s", s.Title, s.Text)
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
func renderCard(c *intake.ContactCard) string {
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
