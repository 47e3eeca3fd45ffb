package bot

import (
	"regexp"
	"sort"
	"strings"
)

// The danger score catches what the danger patterns (rules.go) do not spell out: an emergency told
// by its signs. Each emergency has signs, strong (2) and weak (1); a message that shows signs of
// one worth at least dangerNeed, or dangerNeedUrgent when it also says it is happening now (突然,
// 还在, 咋办…), is that emergency; one that keeps happening (天天, 经常) needs two more. A hedge, or
// a danger that is over (盖灭了, 没事了), turns it off.
// The weights and thresholds were set on the labelled sets in testdata/ so that no message that is
// not an emergency scores (docs/bot.md).

// signsOf are an emergency's strong signs, worth 2 each, and weak ones, worth 1.
type signsOf struct{ strong, weak cue }

func newSigns(strong, weak string) signsOf { return signsOf{newCue(strong), newCue(weak)} }

var dangerSigns = []struct {
	topic string
	signsOf
}{
	{"emergency-medical", newSigns(
		`抽(搐|风|起来|过去)|浑身(发)?抽|吐白沫|不动弹|一动不动|没(了)?反应|没知觉|背过气|栽倒|晕(倒|过去|了)|昏(倒|过去|迷)|不省人事|没气了|`+
			`(脸|嘴唇|嘴|手)(憋得|都)?(发)?(紫|青)|脸(都)?(白了|惨白|煞白)|喘(不上|不过|不动|气越来越)|喘气.{0,4}费劲|胸口.{0,3}不起伏|不喘气|没(了)?心跳|呼吸(困难|越来越)|上不来气|按胸口|`+
			`卡(住|在)?(嗓子|喉咙|气管)|噎(住|着)|嗓子(眼)?发紧|肿得|蜇|过敏|`+
			`好多血|(地上|满地).{0,4}血|血(一股|往外冒|止不住|直流|流不止)|深口子|按透了|耳朵里有血|`+
			`压住了?|拔不出来|夹住了?|掉(进|下来|到)?.{0,6}(水|渠|河|井|坑)里|从.{0,6}(楼|架|梯子|房顶).{0,4}掉|从.{0,8}(掉|摔|跌)下来|`+
			`(喝|吃)了?.{0,8}(农药|药水|老鼠药|消毒水)|(农药|老鼠药|消毒水).{0,6}(喝|吃)了?|打完药.{0,8}吐|中毒|浑身(冒)?冷汗|眼珠子?缩|瞳孔|`+
			`烫(掉|伤|起泡|了一)|开水(浇|烫|洒)|说话.{0,6}(含糊|不清|不利索)|(脸|嘴)(也)?歪|抬不起来|半边|`+
			`吞(下去|进去|了)|咽下去|误吞|纽扣电池|说胡话|不认人|神志不清|`+
			`掉进去了|掉(进)?冰窟窿|冰(面)?.{0,4}裂|不咋应|叫.{0,3}不应|浑身冰凉|起不来|一直(在)?流血|破了个?口子|顶(伤|人)|`+
			`(打药|喷药|农药).{0,12}(吐|晕|抖)|流口水|手脚.{0,3}抖|看不清东西|浑身冒汗|`+
			`(吃|咽).{0,6}卡住|咳不出来|憋得(通红|满脸)|(让|被|叫)(电动车|车|摩托车?|三轮车?|汽车).{0,2}撞了|躺(在)?地上|`+
			`憋(得)?(发)?紫|站不稳|(炉子|煤炉).{0,10}(头疼|头晕|恶心)|(头疼|头晕|恶心).{0,10}(炉子|煤炉)|(腿|胳膊|身子|人)动不了|`+
			`血.{0,3}止不住|绞(了|住|伤)|药.{0,6}吃了?(一大把|好多|一瓶|半瓶)|误服|进贼了|`+
			`骨头.{0,4}露|骨折|倒下了|剧痛|疼得(厉害|受不了)|还在流血|流血不止|脸色(发白|煞白|惨白)|`+
			`不说话了|倒地|呼吸(很)?弱|(农药|药).{0,4}熏|站不起来|(心口|胸口).{0,4}疼|没(有)?心跳|按压|除颤|`+
			`压(着|在底下|住)|塌(了|下来)|埋在|困在|出不来|(锁|关|闷)在车里`,
		`血|吐|疼|哭|倒|摔|冷汗|喘|发烧|头(有点|发|好)?晕|晒着|孕妇|怀孕|犯困|昏睡`)},
	{"emergency-fire", newSigns(
		`着(了|火)|起火|出不去|烟(很|特别|老|太)大|里(头|面)(好像)?还有(人|个|老人|孩子)|噼里啪啦|没出来|烧大了|火往.{0,4}(跑|烧|窜)|往村里(跑|烧)|烧(起来|过来|着|大了|到)|越烧越大|火(快|就)?(燎|窜|蹿|舔)|火苗|火光|火势|冒(黑|浓)?烟|烟(大得|好大|呛|滚|太大)|看不见楼梯|炸了|爆炸|扑不(灭|过来|住)|zhao ?huo|qi ?huo|shi ?huo`,
		`火|烟|烧|焦`)},
	{"emergency-gas-leak", newSigns(
		`(漏|跑|冒|往外).{0,2}气|气.{0,3}(漏|味)|(呲|嗞|滋|哧|嘶)气|报警器.{0,6}(叫|响)|(灶|阀门|开关)(都)?关了.{0,8}(气|味)|(燃气表|气表).{0,6}(走字|在走|在转)|气(哧哧|呲呲|嘶嘶|咝咝)|哧哧|管.{0,4}(打穿|打破|挖断|挖破|碰断|压断)|(煤|燃|然|天然|液化)(气|汽|起)味|臭鸡蛋|漏气|(嗞嗞|呲呲|嘶嘶|滋滋|嗤嗤)|肥皂水.{0,6}泡|(减压阀|阀门|阀口|软管|管子|气罐|罐子|接口).{0,6}(漏|裂|响|嗞|呲|坏|松)|(旋钮|开关|阀门).{0,6}(开着|没关|拧开)|拧开.{0,6}(旋钮|开关|阀门)|(满屋子?|屋里|一屋子|厨房).{0,4}(全是|都是)(气|味)|满(屋|院|楼道)子?.{0,2}味`,
		`煤气|燃气|然气|天然气|液化气|气罐|煤气罐|味|臭|呛|头(有点|发|好)?晕`)},
	{"emergency-crime", newSigns(
		`抢(走|了)|(偷|拆).{0,8}(还在|正)|偷铜线|砸(东西|店|门|车|玻璃)|砸车窗|见东西就砸|还在砸|掏东西|(砍|菜|杀猪)刀|拿着.{0,3}(刀|棍|棒|铁锹|斧)|踹门|弄死|杀了|(打|揍)(人|我|俺|老婆|媳妇|孩子|娃)|喊救命|`+
			`(扯|拽|抢)了?.{0,6}(金链子?|项链|包|手机)|推倒|拽.{0,8}(车|走)|硬拽|往.{0,6}车上(拉|拽|拖)|面包车|(闯|冲|翻|爬)(进|过).{0,6}(家|院|店|屋|墙)|翻.{0,4}院墙|院子里转悠|撬|绑|拐|`+
			`不让(我)?下车|不停车|车门锁着|往郊外|进人了|往.{0,4}(车|三轮)上装|两伙人|在打|打成一团|还没停|`+
			`(门锁|锁)被撬|翻东西|人还在里(头|面)|抡|挥舞|打伤|砸伤|剪锁|不认识(他|她|的人)|`+
			`跟着我|跟踪|尾随|(在|又)打(妈妈|我妈|老婆|媳妇|孩子|人)|砸.{0,3}(玻璃|车窗|门|窗)|泼油漆|动手动脚|挣扎|不放手|非礼|猥亵|耍流氓|往下拽|拦住.{0,3}车|掏出.{0,2}(刀|枪)|刀子|往.{0,4}(车|三轮车?)上(装|抱|搬|赶|拉)|扳手|酒瓶|砖头|铁棍|锤子|铁锹|(在那|到处|来回)(挥|抡)|就打|动手打|被人?砸`,
		`陌生|一帮人|几个人|堵在|不敢出声|躲在|见血|后面|骂|哭|吓唬|在喊|要钱|要债|贼`)},
}

// urgentRe: the resident says it is happening now.
var urgentRe = regexp.MustCompile(`突然|刚才|刚刚|刚被|刚把|这会儿|现在|正在|正往|还在(烧|冒|漏|响|呲|打|砸|流|抢|往|屋|里|车|那|走|转)|一直|越来越|快(来|点|告诉|帮|救)|马上|赶紧|救命|害怕|吓死|好怕|怎么办|咋办|咋弄|咋整|谁懂|不行了|快要|[！!]{2,}`)

// overRe: the danger is over.
var overRe = regexp.MustCompile(`没事了|(盖|扑|浇)灭了|火(早|已经|都)灭了|早灭了|已经灭了|灭掉了|已经好了|消停了`)

const (
	dangerNeed       = 4
	dangerNeedUrgent = 3
)

// chronicRe: a nuisance that keeps happening (天天冒烟) is a report more often than an emergency.
var chronicRe = regexp.MustCompile(`天天|每天|经常|老是|总是|一到晚上|好几天了|好长时间|一直都`)

// dangerScore returns the emergency a message shows the most signs of, and their worth: each strong
// pattern that matches counts once (two patterns over one phrase are two ways of seeing it), and
// weak signs are counted outside the strong ones (the 烟 of 冒烟 counts once), at most three.
func dangerScore(sc *scan) (string, int) {
	text := sc.text
	best, bestScore := "", 0
	for _, d := range dangerSigns {
		score := 0
		var spans [][]int
		for _, p := range d.strong.parts {
			if p.may(sc) {
				if locs := p.re.FindAllStringIndex(text, 3); locs != nil {
					score += 2
					spans = append(spans, locs...)
				}
			}
		}
		rest := text
		if len(spans) > 0 {
			sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
			var b strings.Builder
			end := 0
			for _, sp := range spans {
				if sp[0] > end {
					b.WriteString(text[end:sp[0]])
					b.WriteString(" ")
				}
				end = max(end, sp[1])
			}
			b.WriteString(text[end:])
			rest = b.String()
		}
		weak := 0
		for _, p := range d.weak.parts {
			if p.may(sc) { // the rest's runes are among the text's
				if n := len(p.re.FindAllStringIndex(rest, 3)); n > 0 {
					weak += n
					rest = p.re.ReplaceAllString(rest, " ") // 煤气罐 is one sign, not also 煤气 and 气罐
				}
			}
		}
		score += min(weak, 3)
		if score > bestScore {
			best, bestScore = d.topic, score
		}
	}
	return best, bestScore
}

// dangerBySigns decides an emergency from its signs, when there are enough of them. The caller has
// ruled out hedges and dangers that are over.
func dangerBySigns(sc *scan) (string, bool) {
	text := sc.text
	topic, score := dangerScore(sc)
	need := dangerNeed
	if urgentRe.MatchString(text) {
		need = dangerNeedUrgent
	}
	if chronicRe.MatchString(text) {
		need += 2
	}
	return topic, score >= need
}
