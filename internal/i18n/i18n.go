// Package i18n is the message catalogue of the hotline: the words the server says and the words
// of the staff pages, in Chinese (zh, the default) and English (en), under stable keys.
//
// The catalogue is zh.json and en.json beside this file, flat objects from key to text, embedded
// in the binary. A text may hold {name} placeholders, filled from T's arguments here and from
// t(key, {name: …}) in the pages, which get the same catalogue from GET /messages.js.
//
// Keys:
//   - no prefix: words the server and the pages share — ticket statuses (status.*), tiers
//     (tier.*), categories (category.*), the four rates' names (rates.*), a resident's rating
//     (rating.*), the staff login form (login.*, logout), lists' separators (list.sep, list.enum), …;
//   - error.*: the server's error messages, sent as "中文 (English)" by Both: the API's, and the
//     error frames of the resident chat and the operator console;
//   - open311.*: what the Open311 API says (in Chinese);
//   - bot.*: what the bot says to residents (package bot: its replies, the questions and options
//     of its report, status and handoff flows, the sections of an answer, contact cards);
//   - chat.*: what the chat says to residents besides the bot (the desk's handoff and sweep,
//     operators joining and leaving, the survey, resolutions) and the transcript's speakers;
//   - desk.*: what the operators' consoles are told by the server (alerts);
//   - console.*, dashboard.*, rate.*: the words of one page (the operator console, the managers'
//     dashboard, the residents' rating page); a page looks a key up under its prefix first, then
//     without one (Page).
//
// What residents are told (bot.*, chat.*, and the chat's error frames) is said in Chinese,
// T(Zh, …): the widget has no choice of language yet, and its English waits for one.
//
// TestCatalogue checks that both languages have the same keys and placeholders, and that every
// key the Go sources and the pages use is here.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// The languages of the catalogue; Zh is the default and what a missing word falls back to.
const (
	Zh = "zh"
	En = "en"
)

// Langs are the catalogue's languages, the default first.
var Langs = []string{Zh, En}

//go:embed zh.json en.json
var files embed.FS

// catalogue maps a language to its words.
var catalogue = func() map[string]map[string]string {
	c := map[string]map[string]string{}
	for _, lang := range Langs {
		data, err := files.ReadFile(lang + ".json")
		if err != nil {
			panic("i18n: " + err.Error()) // embedded: a build without it is broken
		}
		words := map[string]string{}
		if err := json.Unmarshal(data, &words); err != nil {
			panic("i18n: " + lang + ".json: " + err.Error())
		}
		c[lang] = words
	}
	return c
}()

// T gives the text of key in lang (in Chinese when lang is not in the catalogue or lacks the key,
// the key itself when Chinese lacks it too), with each {name} replaced by the value that follows
// name in args: T(Zh, "open311.notice", "number", n, "due", due). A placeholder without a value
// stays as it is.
func T(lang, key string, args ...any) string {
	s, ok := catalogue[lang][key]
	if !ok {
		if s, ok = catalogue[Zh][key]; !ok {
			return key
		}
	}
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	return fill(s, args)
}

// fill puts args (name, value, name, value…) in place of s's {name}s, in one pass: a value is
// not looked into, a {name} args do not name stays as it is, and of two pairs of one name the
// first counts. (A strings.Replacer does the same, but building one for each text was a twentieth
// of what a busy chat allocated.)
func fill(s string, args []any) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '}')
		if j < 0 {
			break
		}
		v, ok := lookup(args, s[i+1:i+1+j])
		if !ok {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+j:]
	}
	b.WriteString(s)
	return b.String()
}

// lookup is the value of the first pair of args named name, as text.
func lookup(args []any, name string) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if text(args[i]) == name {
			return text(args[i+1]), true
		}
	}
	return "", false
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	return fmt.Sprint(v)
}

// Both gives the text of key as the API's error messages say it: "中文 (English)".
func Both(key string, args ...any) string {
	return T(Zh, key, args...) + " (" + T(En, key, args...) + ")"
}

// Page gives the text of a staff page's key, as the page itself looks it up (staff.js): key under
// the page's prefix ("console.chat.send" for the console's "chat.send"), else key itself.
func Page(lang, page, key string) string {
	if Has(lang, page+"."+key) || Has(Zh, page+"."+key) {
		return T(lang, page+"."+key)
	}
	return T(lang, key)
}

// Has reports whether the catalogue has key in lang.
func Has(lang, key string) bool {
	_, ok := catalogue[lang][key]
	return ok
}

// Words returns a copy of the catalogue: language → key → text.
func Words() map[string]map[string]string {
	out := make(map[string]map[string]string, len(catalogue))
	for lang, words := range catalogue {
		out[lang] = maps.Clone(words)
	}
	return out
}

// JSON is the catalogue as one JSON object, {"en": {…}, "zh": {…}} with sorted keys (the same
// bytes every run), for the pages.
func JSON() []byte {
	data, err := json.Marshal(catalogue)
	if err != nil {
		panic("i18n: " + err.Error()) // strings only: cannot fail
	}
	return data
}
