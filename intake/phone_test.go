package intake_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake"
)

func TestParsePhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":      "13812345678",
		"138 1234 5678":    "13812345678",
		"+86 13812345678":  "13812345678",
		"+8613812345678":   "13812345678",
		" 13812345678 ":    "13812345678",
		"138-1234-5678":    "13812345678",
		"19912345678":      "19912345678",
		"0478-8123456":     "0478-8123456",
		"010-12345678":     "010-12345678",
		"04788123456":      "04788123456",
		"+86 0478-8123456": "0478-8123456",
	} {
		p, err := intake.ParsePhone(in)
		if err != nil {
			t.Errorf("ParsePhone(%q): %v", in, err)
			continue
		}
		if p.Full() != want {
			t.Errorf("ParsePhone(%q) = %q; want %q", in, p.Full(), want)
		}
	}
	for _, in := range []string{
		"", "12345", "1381234567", "138123456789", "12812345678", "1381234567a", "abcdefghijk",
		"138一二三45678", "0478-812345", "478-8123456", "+1 13812345678x", "13812345678\n1",
	} {
		if p, err := intake.ParsePhone(in); err == nil || !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("ParsePhone(%q) = %q, %v; want ErrInvalid", in, p.Full(), err)
		}
	}
}

func TestFindPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":           "13812345678",
		"我电话138 1234 5678，白天都在": "13812345678",
		"打0478-8123456找我":       "0478-8123456",
		"手机是138-1234-5678。":     "13812345678",
		"座机0478 8123456":        "04788123456",
	} {
		if p, ok := intake.FindPhone(in); !ok || p.Full() != want {
			t.Errorf("FindPhone(%q) = %q, %v; want %q", in, p.Full(), ok, want)
		}
	}
	for _, in := range []string{"", "没有电话", "5678", "20261125-0007", "1381234567", "身份证150802199001011234", "138123456789"} {
		if p, ok := intake.FindPhone(in); ok {
			t.Errorf("FindPhone(%q) = %q; want none", in, p.Full())
		}
	}
}

func TestPhoneMasked(t *testing.T) {
	p, err := intake.ParsePhone("138 1234 5678")
	if err != nil {
		t.Fatal(err)
	}
	if p.Full() != "13812345678" {
		t.Errorf("Full() = %q", p.Full())
	}
	if p.Masked() != "138****5678" {
		t.Errorf("Masked() = %q; want 138****5678", p.Masked())
	}
	if p.Tail() != "5678" {
		t.Errorf("Tail() = %q; want 5678", p.Tail())
	}
	if got := p.String(); got != "138****5678" {
		t.Errorf("String() = %q", got)
	}
	txt, err := p.MarshalText()
	if err != nil || string(txt) != "138****5678" {
		t.Errorf("MarshalText() = %q, %v", txt, err)
	}

	land := intake.Phone("0478-8123456")
	if land.Masked() != "047*****3456" || land.Tail() != "3456" || strings.Contains(land.String(), "8123") {
		t.Errorf("landline: masked %q, tail %q", land.Masked(), land.Tail())
	}
	if short := intake.Phone("123"); short.Masked() != "***" || short.Tail() != "123" {
		t.Errorf("short: masked %q, tail %q", short.Masked(), short.Tail())
	}
}

// The full number must not reach a log line, a JSON body or a formatted string by accident.
func TestPhoneNeverPrintsInFull(t *testing.T) {
	const full = "13812345678"
	p := intake.Phone(full)

	b, err := json.Marshal(struct {
		Name  string       `json:"name"`
		Phone intake.Phone `json:"phone"`
	}{"张三", p})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), full) || !strings.Contains(string(b), `"phone":"138****5678"`) {
		t.Errorf("json = %s; want the phone masked", b)
	}

	tk := intake.Ticket{Number: "20261123-0001", Phone: p}
	b, err = json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), full) {
		t.Errorf("ticket json = %s; contains the full number", b)
	}

	for _, s := range []string{
		fmt.Sprint(p), fmt.Sprintf("%s %v %q %x", p, p, p, p), fmt.Sprintf("%v %+v", tk, tk), fmt.Sprintf("%v", &tk),
	} {
		if strings.Contains(s, full) || strings.Contains(s, fmt.Sprintf("%x", full)) {
			t.Errorf("formatted %q contains the full number", s)
		}
	}

	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "phone", p)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "phone", p, "ticket", tk)
	if strings.Contains(logs.String(), full) {
		t.Errorf("log = %s; contains the full number", logs.String())
	}
}

// MaskPhones masks what FindPhone finds, everywhere in a text, and nothing that only contains
// digits: ticket numbers, longer runs, dates. Identity card numbers are masked too.
func TestMaskPhones(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"没有电话":                            "没有电话",
		"我电话159 4780 1234白天打":             "我电话159****1234白天打",
		"幸福小区3号楼电话15947801234":            "幸福小区3号楼电话159****1234",
		"手机是138-1234-5678。":               "手机是138****5678。",
		"座机0478-8123456，晚上打":              "座机047*****3456，晚上打",
		"座机0478 8123456":                  "座机047****3456",
		"打04788123456找我":                  "打047****3456找我",
		"13812345678和13987654321都行":       "138****5678和139****4321都行",
		"13812345678":                     "138****5678",
		"工单20261125-0007怎么样了":             "工单20261125-0007怎么样了",
		"编号 20261125-0007，电话 13812345678": "编号 20261125-0007，电话 138****5678",
		"身份证150802199001011234":           "身份证150802********1234",
		"身份证15080219900101123X号":          "身份证150802********123X号",
		"138123456789":                    "138123456789", // 12 digits: no phone
		"2026年11月25日3号楼502":               "2026年11月25日3号楼502",
		"1381234567":                      "1381234567",
	} {
		if got := intake.MaskPhones(in); got != want {
			t.Errorf("MaskPhones(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestTicketMaskedText(t *testing.T) {
	tk := &intake.Ticket{Number: "20261125-0007", Phone: "15947801234", Description: "路灯坏了，电话15947801234",
		Address: "幸福小区电话159 4780 1234", Reply: "已联系0478-8123456"}
	tk.RatingNote = "好 13812345678"
	m := tk.MaskedText()
	b, _ := json.Marshal(m)
	for _, full := range []string{"15947801234", "4780 1234", "8123456", "13812345678"} {
		if strings.Contains(string(b), full) {
			t.Errorf("masked ticket %s contains %s", b, full)
		}
	}
	if m.Phone.Full() != "15947801234" || tk.Description != "路灯坏了，电话15947801234" {
		t.Errorf("MaskedText changed the phone field (%q) or the original (%q)", m.Phone.Full(), tk.Description)
	}
	ev := intake.MaskedEvents([]intake.Event{{Note: "回电13812345678"}})
	if ev[0].Note != "回电138****5678" {
		t.Errorf("MaskedEvents note = %q", ev[0].Note)
	}
}

// A message that gives a place and a phone at once is split: the place alone, and the number,
// without the words that introduced it.
func TestCutPhone(t *testing.T) {
	cases := []struct{ in, rest, phone string }{
		{"和平小区6号楼门口 电话13812345678", "和平小区6号楼门口", "13812345678"},
		{"虹亚小区3号楼门口，电话15947801234", "虹亚小区3号楼门口", "15947801234"},
		{"在金桥小区2单元，我的手机号是 138 1234 5678，白天打", "在金桥小区2单元 白天打", "13812345678"},
		{"联系电话：0478-8123456 地址是胜利路12号", "地址是胜利路12号", "0478-8123456"},
		{"13812345678", "", "13812345678"},
		{"电话13812345678 和平小区6号", "和平小区6号", "13812345678"},
	}
	for _, c := range cases {
		rest, p, ok := intake.CutPhone(c.in)
		if !ok || rest != c.rest || p.Full() != c.phone {
			t.Errorf("CutPhone(%q) = %q, %q, %v; want %q, %q", c.in, rest, p.Full(), ok, c.rest, c.phone)
		}
	}
	for _, in := range []string{"和平小区6号楼门口", "工单20261125-0007", "身份证150802199001011234"} {
		if rest, _, ok := intake.CutPhone(in); ok || rest != in {
			t.Errorf("CutPhone(%q) = %q, %v; want no phone, the text as it is", in, rest, ok)
		}
	}
}
