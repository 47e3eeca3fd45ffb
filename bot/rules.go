package bot

import "strings"

// Danger cues: words that mean the danger is happening now. They are checked before any search,
// because an emergency must never lose to a better-scoring procedure. A hedge (怕, 隐患, 万一…)
// turns a cue off: "楼道里电动车充电怕着火" is a hazard to report, not a fire.
var emergencyCues = []struct {
	topic string
	cue   cue
}{
	{"emergency-gas-leak", anyOf(
		`(煤气|燃气|天然气|液化气)(味|泄漏|泄露|漏了|漏气|在漏|呲|嘶)`,
		`(煤气|燃气|天然气|液化气|气罐|气瓶|管子|阀门).{0,8}(泄漏|泄露|正在漏|漏气了|呲呲|嘶嘶)`,
		`正在漏气|闻(到|着).{0,6}(煤气|燃气|天然气|臭鸡蛋)|(煤气|燃气|天然气).{0,4}(味道|味儿|好大味|冲鼻子)`,
		// gas escaping: a pipe off or broken, a valve or knob that will not close, the flame out
		`(管子?|管道|软管|阀门|旋钮|开关|罐|瓶).{0,8}(往外冒|往外跑|跑气|出气|漏气|冒气|呼呼)`,
		`(关不上|拧不上|关不住|拧不紧).{0,6}(气|味)|火灭了.{0,4}气还开着|气还开着`,
		`(燃气|煤气|天然气|液化气)好像(漏|泄)`,
		`(燃气|煤气|天然气|气表|燃气表|阀门|管子|罐).{0,6}(呲|嗞|嘶|哧)(气|呲|嗞|嘶|哧)`,
		`(软管|管子|阀门).{0,6}(掉了|断了|脱了|松了).{0,12}(味|气)`,
		// the alarm sounding with the smell in the room
		`报警器.{0,8}(一直|不停|响个不停|叫个不停|嘀嘀|直叫).{0,12}味`,
	)},
	{"emergency-fire", anyOf(
		`着火了|起火了|失火了|着大火|火着起来|烧起来了|烧着了|着起来了|火起来了|燃起来了|火灾了|火苗子`,
		`(zhao|qi|shi) ?huo ?le`, // typed in pinyin, in a hurry
		`明火|冒火苗|火(就|都)?跑了|一大片火|(拍|扑|浇)(也)?(拍|扑|浇)?不灭`,
		`冒(黑|浓)?烟了|(窗户?|屋里|家里|楼道|楼上|楼下).{0,2}冒(黑|浓)?烟|火光`,
		`(窗户?|屋|房|楼|车|顶|家).{0,4}(往外)?(冒|蹿|窜)火|往外(冒|蹿|窜)火`,
		`(屋|房|楼|车)里?着了|好像着(了|火)`,
		`(油锅|锅|灶台?|炉子|电线|插座|电动车|电瓶|电褥子|柴火|柴垛|草垛|柴草|烟囱|秸秆|床单|被子|窗帘|沙发|纸箱子?)(里|上)?(着了|着火|点着了|引着了)`,
		`引着了|点着了|扑不灭|灭不了|火跑了|(往|朝).{0,6}烧过来`,
		// smoke filling the place, or coming in
		`(全是|都是|满屋子?|一屋子|满楼道|好多|好大的?)(的)?(黑|浓)?烟|烟好多|往(进|里|外)(钻|冒|灌)烟|焦糊味`,
		`(变压器|电表箱?|电箱|配电箱|插座|电线).{0,4}(冒火|冒烟|打火|起火|着了)`,
	)},
	{"emergency-crime", anyOf(
		`(拿|持|举|提)(着)?(菜刀|刀子?|棍子?|棒子|斧头|斧子)|砍人|捅人|要砍|要杀`,
		`被.{0,8}抢(走|了)|抢劫|抢东西|抢包|在(抢|偷)|(抢|偷)了?.{0,6}(包|手机|钱包|金链子?|项链|电动车)|被抢了|刚(才|刚)?.{0,6}(偷|抢)(了|走)`,
		`正在?(撬|砸|偷|抢)|正在?翘.{0,3}(门|锁|窗)|正在打|撬.{0,4}(门|锁|窗|车|电动车|摩托)|剪锁|有人(撬|砸|偷)(车|锁)|有人(撬|翘|砸)门`,
		`正在打人|打人了|往死里打|打群架|打起来了|动刀子|家暴|绑架|入室`,
		`(围着|几个人).{0,8}打|打一个人|(要|还要|正在|在)打(我|俺)`,
		`往车上(拉|拽|拖)|被人(拉|拽|拖)走|不让我下车|把我往.{0,6}(拉|拖)`,
		`翻墙进|(翻|爬)进.{0,6}(院|家|屋)`,
		`(来|开着车来)(拉|偷|抢)(俺|我)家`,
	)},
	{"emergency-medical", anyOf(
		`晕倒|昏倒|晕到|晕过去|昏过去|昏迷|不省人事|没(了)?意识|无意识|(叫|喊).{0,3}不(醒|应)|人没(了)?反应`,
		`没(了)?呼吸|(人|他|她|娃娃|孩子|老汉|老人|爸|妈|爷|奶)(快)?没气了|人快不行了|人不行了`,
		`抽搐|抽起来了|抽过去了|抽风|口吐白沫|翻白眼|眼睛往上翻`,
		`心脏病(犯|发)|脑梗|中风了|说不出话|半边身子|嘴(也|都)?歪了|口眼歪斜|捂着胸口|胸口疼得|心口疼得`,
		`喘不上气|喘不上来|喘不过气|上不来气|呼吸困难|嘴唇(都)?发紫|哮喘犯了|噎住了|噎着了`,
		`流(了)?(很多|好多|不少|一地)血|血流了一地|血流不止|血(止不住|哗哗)|大出血|吐血|(满|一)(头|脸|身)(都|全)?是血|(头|脸|身)上(都|全)是血`,
		`倒地上|倒在地上|躺在地上.{0,8}(不动|流血|不吭声)|一动不动|摔倒了?.{0,12}起不来|(从|打).{1,8}(摔|跌)下来|摔下来了?.{0,8}(不动|起不来|昏|血)`,
		`触电了|电着了|被电(打|击|着)了|溺水|(人|娃娃|孩子|小孩|老人).{0,4}掉(进)?(河|水|井|冰窟窿|水坑)里`,
		`(煤气|煤烟|一氧化碳)中毒了|喝(了)?农药|误(喝|吃)了|吃错药了`,
		`(开水|热水|油)烫.{0,10}(起泡|一身|脱皮|哭)|烧伤了|烫伤了`,
		`被车撞了|出车祸了|(车)?把人撞了|撞人了`,
		`割腕|(要|想)上吊|要跳楼|叫救护车|快叫120|打120`,
	)},
}

// anyOf is a cue matching any of the patterns.
func anyOf(patterns ...string) cue { return newCue(strings.Join(patterns, "|")) }

var hedgeRe = newCue(`(^|[^害好可])怕|担心|隐患|万一|要是|如果|一旦|假如|真(要)?(着火|出事)|都(跑不出|出不去)|容易(着|起|漏|出事|发生)|会不会|以防|预防|防范|没闻(到|着)|闻不(到|着)|上次|以前|去年|前年|那年|当年|落下|上个?月|上礼拜|上星期|上周|前些天|演练|知识|宣传|注意啥|没(有)?(漏|味)|(味|味儿|味道)(都|也)?没有|一点味(儿)?(也|都)?没|不漏|申请|补助|救助|赔|律师|官司|起诉|消防通道|救济|补贴|没闻见|闻不见|打钱|转账|汇款|骗子|(脑梗|中风|偏瘫|瘫痪)(以后|之后|后遗症|好几年|多年)`)

// statusRe finds a resident asking how far an earlier case has got. It wins over the topic the
// case was about: "暖气不热那事到哪一步了" asks for a status, not for a new report.
var statusRe = newCue(`到哪一?步|到哪了|处理到哪|办到哪|进度|进展|有结果没|有没有结果|(有|出)(处理)?结果了?(吗|没|么)|受理编号|已转办|转给谁了|有人跟进没|跟进了没|(交|报|递)上去.{0,10}(啥|什么)时候|(啥|什么)时候能下来|(审批|审核)通过(了)?没|(批|审批|批下来|办下来|审核通过)了(没有?|吗)|(批|办)下来(了)?没|(我|俺)(的|那个?)事(呢|咋样|怎么样)|有下文没|没下文|没(个)?回音|有人接单|接单没|受理了没|办结了没|已办结|咋就(办)?结了|处理(得|的)咋样|办(得|的)咋样|咋还没(人)?(管|处理|回复|来)|没人回(复|付)|工单号|\d{8}[- ]?\d{4,}`)

// statusEarlierRe: an earlier report that has come to nothing.
var statusEarlierRe = newCue(`(之前|以前|上次|上回|前几天|前些天|前两天|头两天|前段时间|前天|昨天|夜来|夜儿个|上周|上个?礼拜|上个?月|半个月前|好几天前|早就).{0,12}(打电话|打过|打了12345|报过?|反映过?|反馈过?|投诉过?|报修过?|说过?|登记过?|提交过?|留言|留过言).{0,30}(没动静|咋样了|怎么样了|(啥|什么)时候有(结果|回复|人)|没人(来|管|理|修)|还没(修|弄|管|来|处理)|到现在|一直没|咋还|咋就|有人(管|来|修|处理|弄)没|(处理|管|修|弄)了没|(啥|什么|几)时候(来人|来修|能修|处理|能弄|有人|能到|到|来)|人呢|咋还不来|还不来)`)

// contactTargetRe: a contact request names whom or where — without one, "打哪个电话" is about a
// service, not a grid worker.
var contactTargetRe = newCue(`你们电话|联系你们|网格|书记|主任|干部|村长|支书|社区|居委|楼栋长|楼长|单元长|村委|办公室|小区|街道|归哪|归谁|属于哪|负责俺|管俺|几号楼|\d+号楼`)

// hedged reports whether the text talks about a danger rather than being in one.
func hedged(text string) bool { return hedgeRe.match(text) }

// notDanger finds phrases that hold a danger word but mean something else: 打不着火 (the stove
// will not light) holds 着火.
var notDanger = newCue(`(打|点|烧)不着(火)?|不着火|没着火|没打着(火)?|(快|要|差点|差一点)(就)?打起来|抢购|抢票|抢红包|抢座|抢车位`)

// danger finds an emergency happening now: by its patterns, else by enough of its signs (danger.go).
// Nothing counts when the text hedges or the danger is over.
func danger(text string) (string, bool) {
	if hedged(text) || overRe.MatchString(text) {
		return "", false
	}
	sc := newScan(notDanger.replace(text, " "))
	for _, c := range emergencyCues {
		if c.cue.matchIn(sc) {
			return c.topic, true
		}
	}
	return dangerBySigns(sc)
}
