package web

import (
	"strings"
	"testing"
)

// The contacts form's changes touch the value only: block and flow mappings, plain, single- and
// double-quoted values, a key the row lacks, comments kept.
func TestGuideContactsSetInPlace(t *testing.T) {
	const src = `# 联系人
towns:
  - id: t1
    name: 镇
    communities:
      - id: c1
        name: 社区 # 注释
        phone: 0478-1
        grids:
          - id: g0
            people:
              - name: 甲
                role: 网格长
                phone: '199-1'
              - {name: 乙, role: 网格员, phone: "199-2"}
`
	cases := []struct {
		set  contactSet
		want string
	}{
		{contactSet{"towns/0/communities/0", "phone", "0478-9"}, strings.Replace(src, "phone: 0478-1", `phone: "0478-9"`, 1)},
		{contactSet{"towns/0/communities/0", "name", "新社区"}, strings.Replace(src, "name: 社区 # 注释", `name: "新社区" # 注释`, 1)},
		{contactSet{"towns/0/communities/0/grids/0/people/0", "phone", "199-9"}, strings.Replace(src, "phone: '199-1'", `phone: "199-9"`, 1)},
		{contactSet{"towns/0/communities/0/grids/0/people/1", "phone", `1"9`}, strings.Replace(src, `phone: "199-2"`, `phone: "1\"9"`, 1)},
		{contactSet{"towns/0/communities/0/grids/0/people/1", "hours", "每天"}, strings.Replace(src, `phone: "199-2"}`, `phone: "199-2", hours: "每天"}`, 1)},
		{contactSet{"towns/0/communities/0/grids/0/people/0", "hours", "工作日"}, strings.Replace(src, "phone: '199-1'\n", "phone: '199-1'\n                hours: \"工作日\"\n", 1)},
	}
	for _, c := range cases {
		got, err := setContact([]byte(src), c.set)
		if err != nil {
			t.Errorf("%+v: %v", c.set, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%+v:\n%s\nwant\n%s", c.set, got, c.want)
		}
	}
	for _, bad := range []contactSet{
		{"towns/0/communities/0/grids/0/people/5", "phone", "1"},
		{"towns/0/communities/0/grids/0", "phone", "1"},
		{"towns/0/communities/0", "grids", "1"},
		{"towns/0/communities/0", "phone", "two\nlines"},
	} {
		if _, err := setContact([]byte(src), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	rows, err := contactRows([]byte(src))
	if err != nil || len(rows) != 3 || rows[0].ID != "c1" || rows[2].Name != "乙" || rows[2].Phone != "199-2" {
		t.Errorf("rows %+v, %v", rows, err)
	}
}
