package bot

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// What a resident says they do not mean, before what they do: 不是流浪狗 是邻居家的狗天天叫,
// 没着火 就是楼道里电动车天天充电. The negated part goes; the separator and 是… stay. A bare 是
// answers only 不是 (没钱 是不是能办低保 keeps its 没钱), and 不是 must begin a clause (是不是,
// 这不是 are not contrasts).
var (
	contrastNot = regexp.MustCompile(`(^|[，。,.！!？?；;\s])(?:并|也)?不是(?:要|问|说|找)?[^，。,.！!？?；;\s]{1,14}[，。,.！!？?；;\s]*(而是|就是|只是|是)`)
	contrastNo  = regexp.MustCompile(`(^|[，。,.！!？?；;\s])没有?[^，。,.！!？?；;\s]{1,8}[，。,.！!？?；;\s]*(而是|就是|只是)`)
	// A change of subject: what follows is what the resident asks now (谢谢你们上次帮忙 顺便问问…).
	shiftRe = regexp.MustCompile(`顺便|另外|还有个事|还想问|再问一下|对了`)
)

// focus keeps the part of a message the resident is asking about: without what they say they do
// not mean, and after a change of subject when enough follows it.
func focus(text string) string {
	if strings.Contains(text, "不是") {
		text = contrastNot.ReplaceAllString(text, "$1$2")
	}
	if strings.Contains(text, "没") && strings.Contains(text, "是") {
		text = contrastNo.ReplaceAllString(text, "$1$2")
	}
	if !strings.ContainsAny(text, "顺另还再对") {
		return strings.TrimSpace(text)
	}
	if locs := shiftRe.FindAllStringIndex(text, -1); locs != nil {
		if rest := text[locs[len(locs)-1][1]:]; hanCount(rest) >= 4 {
			text = rest
		}
	}
	return strings.TrimSpace(text)
}

func hanCount(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r >= 0x4E00 && r <= 0x9FFF {
			n++
		}
		s = s[size:]
	}
	return n
}
