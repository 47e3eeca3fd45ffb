// Package intake is the work-order (工单) domain: tickets, their 12345 lifecycle, SLA clocks and
// escalation up the tiers — grid, then community, then town (小事不出社区、大事不出镇) — and the
// staff who work them. It holds no SQL and no HTTP: intake/sqlite stores it, web serves it.
package intake

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Urgency of a ticket.
type Urgency string

// Urgencies.
const (
	Normal    Urgency = "normal"
	Urgent    Urgency = "urgent"
	Emergency Urgency = "emergency"
)

// Valid reports whether u is a known urgency.
func (u Urgency) Valid() bool { return u == Normal || u == Urgent || u == Emergency }

// Tier is where a ticket sits on the ladder 小事不出社区、大事不出镇.
type Tier string

// Tiers, from the bottom.
const (
	TierGrid      Tier = "grid"
	TierCommunity Tier = "community"
	TierTown      Tier = "town"
)

// Up returns the tier above t, and false at the top.
func (t Tier) Up() (Tier, bool) {
	switch t {
	case TierGrid:
		return TierCommunity, true
	case TierCommunity:
		return TierTown, true
	}
	return t, false
}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t == TierGrid || t == TierCommunity || t == TierTown }

// Channel is how a ticket came in.
type Channel string

// Channels.
const (
	ChannelChat    Channel = "chat"
	ChannelAPI     Channel = "api"
	ChannelOpen311 Channel = "open311"
	ChannelPhone   Channel = "phone"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelChat || c == ChannelAPI || c == ChannelOpen311 || c == ChannelPhone
}

// Status is a step of the lifecycle.
type Status string

// Statuses, in the order a ticket normally goes through them.
const (
	Received   Status = "received"    // 受理
	Dispatched Status = "dispatched"  // 派单
	Signed     Status = "signed"      // 签收
	InProgress Status = "in_progress" // 办理
	Resolved   Status = "resolved"    // 办结
	Rated      Status = "rated"       // 回访/评价
	Closed     Status = "closed"      // 结案
	Returned   Status = "returned"    // 退单: back with the dispatcher
)

// Label is the status in Chinese.
func (s Status) Label() string {
	return map[Status]string{
		Received: "受理", Dispatched: "派单", Signed: "签收", InProgress: "办理", Resolved: "办结",
		Rated: "评价", Closed: "结案", Returned: "退单",
	}[s]
}

// Open reports whether work on the ticket is still owed.
func (s Status) Open() bool {
	switch s {
	case Received, Dispatched, Signed, InProgress, Returned:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.Label() != "" }

// Order is the place of s in the usual lifecycle (returned last), to order steps taken at the
// same instant.
func (s Status) Order() int {
	for i, st := range Statuses {
		if st == s {
			return i
		}
	}
	return len(Statuses)
}

// Statuses lists every status.
var Statuses = []Status{Received, Dispatched, Signed, InProgress, Resolved, Rated, Closed, Returned}

// Satisfaction ratings (群众满意度).
const (
	Satisfied          = "satisfied"           // 满意
	BasicallySatisfied = "basically_satisfied" // 基本满意
	Dissatisfied       = "dissatisfied"        // 不满意
)

// Extension is a request to move the finish deadline (延期).
type Extension struct {
	State     string    `json:"state"` // requested, approved, refused
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
	Requested time.Time `json:"requested_at"`
}

// Extension states.
const (
	ExtensionRequested = "requested"
	ExtensionApproved  = "approved"
	ExtensionRefused   = "refused"
)

// Ticket is one work order. What the resident reported stays flat; what the lifecycle keeps
// about the ticket is grouped (Deadlines, Marks, Evaluation, Timeliness). The groups are embedded,
// so t.DueBy still reads and the JSON stays flat, in the same order: a group sits where its fields
// were.
type Ticket struct {
	Number      string   `json:"number"`
	Category    string   `json:"category"`
	Topic       string   `json:"topic,omitempty"`
	Community   string   `json:"community,omitempty"`
	Grid        string   `json:"grid,omitempty"`
	Tier        Tier     `json:"tier"`
	Urgency     Urgency  `json:"urgency"`
	Description string   `json:"description"`
	Address     string   `json:"address,omitempty"`
	Lat         *float64 `json:"lat,omitempty"`
	Lng         *float64 `json:"lng,omitempty"`
	Name        string   `json:"name,omitempty"`
	Phone       Phone    `json:"phone,omitempty"`
	// AccessCode is the resident's proof of the ticket (6 digits, given once, at creation): with
	// the number it follows and rates the ticket. Never in JSON: staff lists do not show it.
	AccessCode     string  `json:"-"`
	Channel        Channel `json:"channel"`
	ConversationID string  `json:"conversation_id,omitempty"`
	Assignee       string  `json:"assignee,omitempty"`
	Status         Status  `json:"status"`
	// Steps holds when the ticket first reached each status.
	Steps map[Status]time.Time `json:"steps"`
	Deadlines
	Marks
	Reply string `json:"reply,omitempty"`
	Evaluation
	// Ratings are every rating the ticket was given, one per resolution (a change within 24
	// hours replaces it): 不满意 reopens a ticket, and still counts.
	Ratings []RatingRecord `json:"ratings,omitempty"`
	Timeliness
	Created time.Time `json:"created_at"`
	Updated time.Time `json:"updated_at"`
	Version int       `json:"version"`
}

// Deadlines are the ticket's clocks now in force: sign by (签收时限), finish by (办结时限), and
// the extension (延期) asked for, which moves DueBy once approved.
type Deadlines struct {
	SignBy    time.Time  `json:"sign_by"`
	DueBy     time.Time  `json:"due_by"`
	Extension *Extension `json:"extension,omitempty"`
}

// Marks are what pressed on a ticket: how often it was urged (催办) and reopened (重办), and
// whether it is past its finish deadline (超期).
type Marks struct {
	Urged    int  `json:"urged"`
	Overdue  bool `json:"overdue"`
	Reopened int  `json:"reopened"`
}

// Evaluation is the resident's rating of the latest resolution (回访评价); reopening the ticket
// clears it, as the next resolution is rated afresh (Ticket.Ratings keeps them all).
type Evaluation struct {
	Rating string `json:"rating,omitempty"`
	Solved *bool  `json:"solved,omitempty"`
	// RatingNote is the resident's comment with the rating; RatedAt when the rating of this
	// resolution was first given (it may be changed for 24 hours).
	RatingNote string    `json:"rating_note,omitempty"`
	RatedAt    time.Time `json:"rated_at,omitzero"`
}

// Timeliness is what the four rates read: whether the first signature met the sign deadline
// then in force, and whether the latest resolution (at ResolvedAt) met the finish deadline then
// in force.
type Timeliness struct {
	SignedOnTime   *bool     `json:"signed_on_time,omitempty"`
	ResolvedOnTime *bool     `json:"resolved_on_time,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
}

// RatingRecord is one resolution's rating.
type RatingRecord struct {
	Rating string    `json:"rating"`
	Solved *bool     `json:"solved,omitempty"`
	At     time.Time `json:"at"`
}

// Event is one line of a ticket's audit trail.
type Event struct {
	ID     int64     `json:"id"`
	Number string    `json:"number"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // a username, "resident" or "system"
	Action Action    `json:"action"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Phone is a resident's phone number. It is stored in full, but prints and marshals masked
// (138****5678) so that it cannot reach a log or a list by accident; Full gives the number.
type Phone string

var phonePattern = regexp.MustCompile(`^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)

// ParsePhone checks a mainland mobile (11 digits) or landline number, ignoring spaces and dashes
// between groups of a mobile.
func ParsePhone(s string) (Phone, error) {
	clean := strings.NewReplacer(" ", "", "+86", "").Replace(strings.TrimSpace(s))
	if strings.HasPrefix(clean, "1") {
		clean = strings.ReplaceAll(clean, "-", "")
	}
	if !phonePattern.MatchString(clean) {
		return "", fmt.Errorf("%w: phone: want an 11-digit mobile number or a landline such as 0478-1234567", ErrInvalid)
	}
	return Phone(clean), nil
}

// phoneInText finds a number inside a sentence: 我电话138 1234 5678.
var phoneInText = regexp.MustCompile(`1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{7,8}`)

// FindPhone finds the first phone number in free text, by the rule MaskPhones masks by: no digit
// right before or after it, so none is read out of an identity card or a longer run of digits.
func FindPhone(text string) (Phone, bool) {
	for _, m := range wholeMatches(text, phoneInText) {
		if p, err := ParsePhone(text[m[0]:m[1]]); err == nil {
			return p, true
		}
	}
	return "", false
}

// CutPhone takes the first phone number out of a message that gives more than a phone (a place
// and a phone at once: 和平小区6号楼门口 电话138…): it returns the message without the number and
// without the words that introduced it (电话, 手机号, 联系方式…) or the punctuation left at its
// ends, and the number. ok is false, and rest the message, when there is no phone.
func CutPhone(text string) (rest string, p Phone, ok bool) {
	for _, m := range wholeMatches(text, phoneInText) {
		q, err := ParsePhone(text[m[0]:m[1]])
		if err != nil {
			continue
		}
		before, after := trimPhoneWords(text[:m[0]], strings.HasSuffix, strings.TrimSuffix), trimPhoneWords(text[m[1]:], strings.HasPrefix, strings.TrimPrefix)
		joined := strings.TrimSpace(before)
		if a := strings.TrimSpace(after); a != "" {
			if joined != "" {
				joined += " "
			}
			joined += a
		}
		return joined, q, true
	}
	return text, "", false
}

// phoneWords introduce or follow a phone number in a message; trimPhoneWords cuts them, with
// spaces and punctuation, from the side of a message next to the number. Longest first.
var phoneWords = []string{"联系电话", "联系方式", "电话号码", "手机号码", "手机号", "电话是", "电话", "手机", "号码是", "号码",
	"打我", "打这个", "我的", "我是", "是", "找我", "随时", "打"}

func trimPhoneWords(s string, has func(s, affix string) bool, trim func(s, affix string) string) string {
	for {
		t := strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
		// Only the side next to the number is trimmed of words: TrimFunc's far side is harmless
		// (a place does not start or end with punctuation worth keeping).
		cut := false
		for _, w := range phoneWords {
			if has(t, w) {
				t, cut = trim(t, w), true
				break
			}
		}
		if !cut {
			return t
		}
		s = t
	}
}

// idInText is a resident identity card number (居民身份证号): 18 characters, the last a digit or X.
var idInText = regexp.MustCompile(`\d{17}[\dXx]`)

// MaskPhones masks every phone number in free text (a description, an address, a note, a reply, a
// transcript): what FindPhone finds, mobile or landline, with spaces or dashes, prints as
// Phone.Masked does (我电话159****1234白天打). A number counts only where no digit stands right
// before or after it, so a ticket number (20261125-0007) or any longer run of digits is no phone.
// An 18-character identity card number is masked too, keeping its first six and last four
// characters (150802********1234): it is at least as private as a phone, and a phone would
// otherwise be read into its middle.
func MaskPhones(text string) string {
	if !strings.ContainsAny(text, "0123456789") {
		return text
	}
	text = replaceWhole(text, idInText, func(m string) string {
		return m[:6] + strings.Repeat("*", len(m)-10) + m[len(m)-4:]
	})
	return replaceWhole(text, phoneInText, func(m string) string {
		p, err := ParsePhone(m)
		if err != nil {
			return m
		}
		return p.Masked()
	})
}

// replaceWhole replaces the matches of re in s that no digit stands next to (wholeMatches).
func replaceWhole(s string, re *regexp.Regexp, f func(string) string) string {
	ms := wholeMatches(s, re)
	if len(ms) == 0 {
		return s
	}
	var b strings.Builder
	done := 0
	for _, m := range ms {
		b.WriteString(s[done:m[0]])
		b.WriteString(f(s[m[0]:m[1]]))
		done = m[1]
	}
	b.WriteString(s[done:])
	return b.String()
}

// wholeMatches returns the byte ranges of the matches of re in s that no digit stands next to,
// trying again one byte further on after a match that one does.
func wholeMatches(s string, re *regexp.Regexp) [][2]int {
	var out [][2]int
	for at := 0; at < len(s); {
		loc := re.FindStringIndex(s[at:])
		if loc == nil {
			break
		}
		start, end := at+loc[0], at+loc[1]
		if start > 0 && isDigit(s[start-1]) || end < len(s) && isDigit(s[end]) {
			at = start + 1
			continue
		}
		out = append(out, [2]int{start, end})
		at = end
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// MaskedText returns a copy of t whose free text (description, address, reply, rating comment)
// has its phone numbers masked (MaskPhones): what lists, exports and Open311 show. The Phone field
// stays whole, as it marshals masked anyway and Full is how a resident is called back.
func (t *Ticket) MaskedText() *Ticket {
	c := *t
	c.Description, c.Address = MaskPhones(t.Description), MaskPhones(t.Address)
	c.Reply, c.RatingNote = MaskPhones(t.Reply), MaskPhones(t.RatingNote)
	return &c
}

// MaskedEvents returns a copy of events whose notes have their phone numbers masked.
func MaskedEvents(events []Event) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		e.Note = MaskPhones(e.Note)
		out[i] = e
	}
	return out
}

// Full returns the whole number.
func (p Phone) Full() string { return string(p) }

// Masked returns the number with the middle hidden: 138****5678.
func (p Phone) Masked() string {
	s := string(p)
	if len(s) < 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

// Tail returns the last four digits, which a resident gives to look a ticket up.
func (p Phone) Tail() string {
	if len(p) < 4 {
		return string(p)
	}
	return string(p[len(p)-4:])
}

// String masks the number.
func (p Phone) String() string { return p.Masked() }

// GoString masks the number in %#v too.
func (p Phone) GoString() string { return strconv.Quote(p.Masked()) }

// MarshalText masks the number.
func (p Phone) MarshalText() ([]byte, error) { return []byte(p.Masked()), nil }

// Errors. The web layer maps them to HTTP statuses.
var (
	ErrInvalid    = errors.New("invalid")         // 400
	ErrNotFound   = errors.New("not found")       // 404
	ErrConflict   = errors.New("conflict")        // 409: changed by someone else meanwhile
	ErrTransition = errors.New("not allowed now") // 409: the lifecycle does not allow it
	ErrForbidden  = errors.New("forbidden")       // 403
)

// MaxDescription bounds a ticket's description, in characters.
const MaxDescription = 4000

// CleanText drops the control characters nobody means to send (all but tab, line feed and
// carriage return): nobody reads them, and stores differ on them (PostgreSQL's text refuses NUL).
func CleanText(s string) string {
	if !strings.ContainsFunc(s, badControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badControl(r) {
			return -1
		}
		return r
	}, s)
}

func badControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
}
