package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The contacts form of the guide editor: contacts.yaml as rows (each community and each person
// of its grids, with a path to it), and changes of one field of a row made in the text itself,
// where the value stands, so that the rest of the file (its comments, its layout) stays as it was.

// contactRow is a community or a person of contacts.yaml.
type contactRow struct {
	Path      string `json:"path"` // towns/0/communities/1[/grids/2/people/0]
	Kind      string `json:"kind"` // community or person
	Town      string `json:"town"`
	Community string `json:"community"`
	ID        string `json:"id,omitempty"` // a community's id
	Grid      string `json:"grid,omitempty"`
	Name      string `json:"name"`
	Role      string `json:"role,omitempty"`
	Phone     string `json:"phone"`
	Hours     string `json:"hours"`
	Address   string `json:"address,omitempty"`
}

// contactSet sets one field of a row.
type contactSet struct {
	Path  string `json:"path"`
	Field string `json:"field"`
	Value string `json:"value"`
}

// The fields the form sets, by kind of row.
var contactFields = map[string]map[string]bool{
	"community": {"name": true, "phone": true, "hours": true, "address": true},
	"person":    {"name": true, "role": true, "phone": true, "hours": true},
}

// POST /api/v1/guide/contacts {yaml, set}: the rows of a draft's contacts.yaml after the changes
// of set, and its text.
func (s *Server) guideContacts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		YAML *string      `json:"yaml"`
		Set  []contactSet `json:"set"`
	}
	if !decodeJSONLimit(w, r, &req, MaxGuideBodyBytes) {
		return
	}
	if req.YAML == nil {
		writeError(w, http.StatusBadRequest, "missing_field", `missing field "yaml": the text of contacts.yaml`)
		return
	}
	text := []byte(*req.YAML)
	for _, c := range req.Set {
		var err error
		if text, err = setContact(text, c); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_change", fmt.Sprintf("%s %s: %v", c.Path, c.Field, err))
			return
		}
	}
	rows, err := contactRows(text)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_guide", "contacts.yaml: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"yaml": string(text), "rows": rows})
}

func parseContacts(text []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("want a mapping at the top")
	}
	return doc.Content[0], nil
}

// scalar is the value of key in mapping m, "" when it is absent or not a scalar.
func scalar(m *yaml.Node, key string) string {
	if v := valueOf(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func seq(m *yaml.Node, key string) []*yaml.Node {
	if v := valueOf(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// contactRows lists the communities and people of contacts.yaml, in file order.
func contactRows(text []byte) ([]contactRow, error) {
	root, err := parseContacts(text)
	if err != nil {
		return nil, err
	}
	rows := []contactRow{}
	for ti, t := range seq(root, "towns") {
		for ci, c := range seq(t, "communities") {
			cp := fmt.Sprintf("towns/%d/communities/%d", ti, ci)
			rows = append(rows, contactRow{Path: cp, Kind: "community", Town: scalar(t, "name"), Community: scalar(c, "name"), ID: scalar(c, "id"),
				Name: scalar(c, "name"), Phone: scalar(c, "phone"), Hours: scalar(c, "hours"), Address: scalar(c, "address")})
			for gi, g := range seq(c, "grids") {
				for pi, p := range seq(g, "people") {
					rows = append(rows, contactRow{Path: fmt.Sprintf("%s/grids/%d/people/%d", cp, gi, pi), Kind: "person",
						Town: scalar(t, "name"), Community: scalar(c, "name"), Grid: scalar(g, "name"),
						Name: scalar(p, "name"), Role: scalar(p, "role"), Phone: scalar(p, "phone"), Hours: scalar(p, "hours")})
				}
			}
		}
	}
	return rows, nil
}

// find returns the mapping at path (key/index/key/index…) and the kind of row it is.
func find(root *yaml.Node, path string) (*yaml.Node, string, error) {
	parts := strings.Split(path, "/")
	shapes := map[int]string{4: "community", 8: "person"}
	kind, ok := shapes[len(parts)]
	want := []string{"towns", "communities", "grids", "people"}
	if !ok {
		return nil, "", errors.New("want a path towns/T/communities/C or …/grids/G/people/P")
	}
	m := root
	for i := 0; i < len(parts); i += 2 {
		if parts[i] != want[i/2] {
			return nil, "", fmt.Errorf("want %q, not %q, in the path", want[i/2], parts[i])
		}
		items := seq(m, parts[i])
		n, err := strconv.Atoi(parts[i+1])
		if err != nil || n < 0 || n >= len(items) || items[n].Kind != yaml.MappingNode {
			return nil, "", fmt.Errorf("no %s %s", parts[i], parts[i+1])
		}
		m = items[n]
	}
	return m, kind, nil
}

// setContact sets field of the row at path to value in the text of contacts.yaml, in place.
func setContact(text []byte, c contactSet) ([]byte, error) {
	if strings.ContainsAny(c.Value, "\n\r") || strings.TrimSpace(c.Value) != c.Value {
		return nil, errors.New("want one line without spaces around it")
	}
	root, err := parseContacts(text)
	if err != nil {
		return nil, err
	}
	m, kind, err := find(root, c.Path)
	if err != nil {
		return nil, err
	}
	if !contactFields[kind][c.Field] {
		return nil, fmt.Errorf("a %s's %s is edited in the text, not in the form", kind, c.Field)
	}
	quoted, _ := json.Marshal(c.Value) // a JSON string is a YAML double-quoted scalar
	lines := strings.SplitAfter(string(text), "\n")
	flow := m.Style&yaml.FlowStyle != 0
	if v := valueOf(m, c.Field); v != nil {
		if v.Kind != yaml.ScalarNode {
			return nil, errors.New("not a single value: edit it in the text")
		}
		start, end, err := span(lines, v, flow)
		if err != nil {
			return nil, err
		}
		line := []rune(lines[v.Line-1])
		lines[v.Line-1] = string(line[:start]) + string(quoted) + string(line[end:])
	} else {
		// A key the row does not have yet: after its last value.
		last := m.Content[len(m.Content)-1]
		if last.Kind != yaml.ScalarNode {
			return nil, errors.New("cannot add it here: edit it in the text")
		}
		_, end, err := span(lines, last, flow)
		if err != nil {
			return nil, err
		}
		line := []rune(lines[last.Line-1])
		if flow {
			lines[last.Line-1] = string(line[:end]) + ", " + c.Field + ": " + string(quoted) + string(line[end:])
		} else {
			indent := strings.Repeat(" ", m.Content[0].Column-1)
			lines[last.Line-1] = strings.TrimRight(string(line), "\r\n") + "\n" + indent + c.Field + ": " + string(quoted) + "\n"
		}
	}
	out := []byte(strings.Join(lines, ""))
	// The change must read back as made, and nothing else may have moved.
	check, err := parseContacts(out)
	if err != nil {
		return nil, fmt.Errorf("the change would break the file (%v): edit it in the text", err)
	}
	if m2, _, err := find(check, c.Path); err != nil || scalar(m2, c.Field) != c.Value {
		return nil, errors.New("the change did not take: edit it in the text")
	}
	return out, nil
}

// span finds where the scalar v stands in its line: rune offsets [start, end).
func span(lines []string, v *yaml.Node, flow bool) (int, int, error) {
	if v.Line < 1 || v.Line > len(lines) {
		return 0, 0, errors.New("value out of the text")
	}
	line := []rune(strings.TrimRight(lines[v.Line-1], "\r\n"))
	start := v.Column - 1
	if start < 0 || start > len(line) {
		return 0, 0, errors.New("value out of its line")
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, errors.New("a block of text: edit it in the text")
	}
	end := start
	switch {
	case start < len(line) && line[start] == '"':
		for end = start + 1; end < len(line) && line[end] != '"'; end++ {
			if line[end] == '\\' {
				end++
			}
		}
		if end >= len(line) {
			return 0, 0, errors.New("a value over several lines: edit it in the text")
		}
		end++
	case start < len(line) && line[start] == '\'':
		for end = start + 1; ; end++ {
			if end >= len(line) {
				return 0, 0, errors.New("a value over several lines: edit it in the text")
			}
			if line[end] == '\'' {
				if end+1 < len(line) && line[end+1] == '\'' {
					end++
					continue
				}
				break
			}
		}
		end++
	default:
		for end = start; end < len(line); end++ {
			r := line[end]
			if flow && (r == ',' || r == '}' || r == ']') || r == '#' && end > start && line[end-1] == ' ' {
				break
			}
		}
		for end > start && line[end-1] == ' ' {
			end--
		}
		if string(line[start:end]) != v.Value {
			return 0, 0, errors.New("a value over several lines: edit it in the text")
		}
	}
	return start, end, nil
}
