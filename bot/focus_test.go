package bot

import "testing"

func TestFocus(t *testing.T) {
	for in, want := range map[string]string{
		// what the resident says they do not mean goes
		"不是流浪狗 是楼上邻居家的狗天天叫":    "是楼上邻居家的狗天天叫",
		"不是要网格员电话，就是想知道网格员管些甚": "就是想知道网格员管些甚",
		"没着火 就是楼道里电动车天天充电":     "就是楼道里电动车天天充电",
		"也不是问低保 而是临时救助咋申请":     "而是临时救助咋申请",
		// not contrasts: 是不是, a 不是 inside a clause, 没 with a bare 是
		"暖气是不是坏了":        "暖气是不是坏了",
		"这不是欺负人吗 是不是该管管": "这不是欺负人吗 是不是该管管",
		"没钱 是不是能办低保":     "没钱 是不是能办低保",
		"暖气没热 是咋回事":      "暖气没热 是咋回事",
		"不是开玩笑 真着火了":     "不是开玩笑 真着火了",
		// after a change of subject, what is asked now
		"谢谢你们上次帮忙 顺便问问今年羊肉多少钱一斤": "问问今年羊肉多少钱一斤",
		"腰疼得不行 对了俺们那个医保今年交多少":    "俺们那个医保今年交多少",
		"低保咋申请 对了": "低保咋申请 对了", // nothing follows it
	} {
		if got := focus(in); got != want {
			t.Errorf("focus(%q) = %q, want %q", in, got, want)
		}
	}
}
