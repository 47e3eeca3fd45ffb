package bot

import "testing"

// TestDangerBySigns: emergencies told only by their signs are caught; hazards, dangers that are over
// and nuisances are not.
func TestDangerBySigns(t *testing.T) {
	for text, want := range map[string]string{
		// told by its signs, none of them a danger pattern
		"超市门口一个老汉突然栽倒了 浑身抽 嘴里吐白沫":      "emergency-medical",
		"孩子吃葡萄卡嗓子了 脸憋得发紫 咳不出来":         "emergency-medical",
		"车间冲床把工友的手压住了拔不出来 地上好多血":       "emergency-medical",
		"被马蜂蜇了以后嗓子眼发紧 脸肿得眼睛都睁不开":       "emergency-medical",
		"上坟烧纸把旁边的枯草点了 火越烧越大 扑不过来":      "emergency-fire",
		"楼道里的电动车电瓶突然炸了 烟大得看不见楼梯":       "emergency-fire",
		"刚换的气罐接上以后有一股味 减压阀那儿嗞嗞地响":      "emergency-gas-leak",
		"孩子拧开了灶台旋钮没打着火 开了好半天 屋里全是味":    "emergency-gas-leak",
		"前夫堵在我家门口踹门 说今天不开门就弄死我":        "emergency-crime",
		"学校门口有个陌生男的硬拽一个小女孩往面包车上拉 女孩在哭": "emergency-crime",
		"一帮人冲进我们店里见东西就砸 玻璃柜台全碎了 还在砸":   "emergency-crime",
		"孩子把纽扣电池吞下去了 一直哭":              "emergency-medical",
		"工地脚手架塌了 底下压着两个工人":             "emergency-medical",
		"装修师傅把墙里的燃气管打穿了 气哧哧往外冒":        "emergency-gas-leak",
		"喝醉的拿着啤酒瓶子到处抡 已经打伤一个人了":        "emergency-crime",
		// told by a frightened child: 害怕 is fear now, not the hedge 怕
		"妈妈不在家 厨房里好臭好臭 像臭鸡蛋的味道 我好害怕": "emergency-gas-leak",
		"爸爸在打妈妈 妈妈一直在哭 我好害怕":         "emergency-crime",
		"爷爷不说话了 叫他也不醒":               "emergency-medical",
		"孩子吃果冻卡住了 脸憋得通红 咳不出来":        "emergency-medical",
		"老人过马路让电动车撞了 躺地上起不来":         "emergency-medical",
		"俺家门正被人砸 外头好几个人 喊着要钱":        "emergency-crime",
		"地头烧秸秆烧大了 风一刮往村里跑":           "emergency-fire",
		"工地上有人从脚手架上掉下来了 腿骨头都露出来了":    "emergency-medical",
		"公交站有个男的一直对一个女孩动手动脚 女孩在挣扎":   "emergency-crime",
		"灶台底下的软管裂了 正往外呲气":            "emergency-gas-leak", // two patterns over one phrase count twice
		"孩子吃葡萄卡住了 脸都憋紫了":             "emergency-medical",
		"一家人都头疼恶心站不稳 屋里生着炉子":         "emergency-medical",
		"俺家进贼了 人还在屋里翻东西":             "emergency-crime",
	} {
		got, ok := danger(text)
		if !ok || got != want {
			t.Errorf("%s: %q %v, want %s", text, got, ok, want)
		}
	}
	for _, text := range []string{
		"家里房子着火烧没了 现在火早灭了 有没有啥临时的救济能领", // over, and a relief question
		"俺家然气管子老化了 胶皮管子都裂了 没闻见味 能来换换么", // a hazard without the smell
		"刚才油锅着了一下 我拿锅盖盖灭了 现在没事了",       // over
		"燃气灶打不着火 是不是没气了",               // not a fire
		"楼下烧烤店天天冒烟 呛得人受不了",             // a nuisance, no urgency, few signs
		"血压高吃什么好",
		"村里老人家煤气罐那根胶皮管子都裂了还在用", // 还在用 is no danger happening now
	} {
		if got, ok := danger(text); ok {
			t.Errorf("%s: %s, want no emergency", text, got)
		}
	}
}
