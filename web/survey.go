package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// The survey (docs/rates.md): a resident rates a resolved ticket — on the rating page or through
// the API with the ticket's access code, or in the chat the ticket came from — and votes on
// the bot's answers.

// ratingLabels are the three ratings as residents see them, in order.
var ratingLabels = []intake.Option{
	{ID: intake.Satisfied, Label: i18n.T(i18n.Zh, "rating.satisfied")},
	{ID: intake.BasicallySatisfied, Label: i18n.T(i18n.Zh, "rating.basically_satisfied")},
	{ID: intake.Dissatisfied, Label: i18n.T(i18n.Zh, "rating.dissatisfied")},
}

// ratingRequest is a resident's rating through the API: the rating and the ticket's access code,
// which proves it is theirs (a phone tail no longer does: issue 12).
type ratingRequest struct {
	Code string `json:"code"`
	intake.Rating
}

// surveyError is how a refused rating is told: an HTTP status, a code and the resident's text.
type surveyError struct {
	status        int
	code, message string
}

// rate applies a resident's rating to a resolved ticket (amend: change the one given) and says
// why it was refused, if it was.
func (s *Server) rate(ctx context.Context, t *intake.Ticket, r intake.Rating, amend bool) (*intake.Ticket, *surveyError, error) {
	got, err := s.intake.Rate(ctx, t, r, amend)
	switch {
	case errors.Is(err, intake.ErrNotResolved):
		return nil, &surveyError{http.StatusConflict, "not_resolved", i18n.Both("error.not_resolved")}, nil
	case errors.Is(err, intake.ErrAlreadyRated):
		return nil, &surveyError{http.StatusConflict, "already_rated", i18n.Both("error.already_rated")}, nil
	case errors.Is(err, intake.ErrTooLate):
		return nil, &surveyError{http.StatusConflict, "too_late", i18n.Both("error.too_late")}, nil
	case errors.Is(err, intake.ErrNotRated):
		return nil, &surveyError{http.StatusConflict, "not_rated", i18n.Both("error.not_rated")}, nil
	case errors.Is(err, intake.ErrConflict):
		return nil, &surveyError{http.StatusConflict, "conflict", i18n.Both("error.rating_conflict")}, nil
	case err != nil:
		return nil, nil, err
	}
	return got, nil, nil
}

// rateTicket serves POST (rate) and PUT (change the rating) /api/v1/tickets/{number}/rating.
func (s *Server) rateTicket(w http.ResponseWriter, r *http.Request) {
	if !s.lookupLimit.allow(clientIP(r)) {
		tooMany(w)
		return
	}
	var req ratingRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if fe := req.Check(); fe != nil {
		s.writeIntakeError(w, fe)
		return
	}
	t, ok := s.follow(w, r, r.PathValue("number"), intake.Proof{Code: req.Code})
	if !ok {
		return
	}
	got, refused, err := s.rate(r.Context(), t, req.Rating, r.Method == http.MethodPut)
	if err != nil {
		s.internal(w, "rate", err)
		return
	}
	if refused != nil {
		writeError(w, refused.status, refused.code, refused.message)
		return
	}
	events, err := s.intake.Store.Events(r.Context(), got.Number)
	if err != nil {
		s.internal(w, "rate", err)
		return
	}
	writeJSON(w, http.StatusOK, s.residentView(got, events))
}

// Chat frames of the survey.

type surveyFrame struct {
	Type    string          `json:"type"` // survey
	Number  string          `json:"number"`
	Text    string          `json:"text"`
	Ratings []intake.Option `json:"ratings"`
	Link    string          `json:"link"` // the rating page, relative to the server
}

type ratedFrame struct {
	Type     string `json:"type"` // rated
	ReplyTo  string `json:"reply_to"`
	Number   string `json:"number"`
	Reopened bool   `json:"reopened"`
	Text     string `json:"text"`
}

// surveyFor is the survey of t, sent only to the conversation that opened it: its link to the
// rating page carries the access code in the fragment (#c=…), which the page fills in and which
// never reaches a server's or a proxy's log.
func surveyFor(t *intake.Ticket) surveyFrame {
	link := "/rate?n=" + url.QueryEscape(t.Number)
	if t.AccessCode != "" {
		link += "#c=" + t.AccessCode
	}
	return surveyFrame{Type: "survey", Number: t.Number, Ratings: ratingLabels, Link: link,
		Text: i18n.T(i18n.Zh, "chat.survey", "number", t.Number)}
}

// pendingSurveys sends a survey for each resolved, unrated ticket the conversation opened.
func (c *chatConn) pendingSurveys(ctx context.Context) {
	ts, err := c.s.intake.Store.List(ctx, intake.Filter{Conversation: c.conv.ID, Status: intake.Resolved})
	if err != nil {
		c.s.log.Error("chat: looking for surveys", "err", err)
		return
	}
	for _, t := range ts {
		if t.ConversationID == c.conv.ID && t.RatedAt.IsZero() {
			c.queueJSON(surveyFor(t))
		}
	}
}

// chatRatingText is what a resident is told in the chat of a refused rating (the API's messages
// speak of its methods): chat.rating.<field or code>, "" when there is none.
func chatRatingText(code string) string {
	if !i18n.Has(i18n.Zh, "chat.rating."+code) {
		return ""
	}
	return i18n.T(i18n.Zh, "chat.rating."+code, "max", intake.MaxRatingComment)
}

// rateFrame is the chat's rating: only of a ticket this conversation opened.
type rateFrame struct {
	ID      string `json:"id"`
	Number  string `json:"number"`
	Rating  string `json:"rating"`
	Solved  *bool  `json:"solved"`
	Comment string `json:"comment"`
}

func (c *chatConn) rateInChat(f rateFrame) {
	if !c.s.chat.convLimit.allow(c.conv.ID) {
		c.fail(errRateLimited, i18n.Both("error.sending_too_fast"), f.ID)
		return
	}
	req := intake.Rating{Rating: f.Rating, Solved: f.Solved, Comment: f.Comment}
	if fe := req.Check(); fe != nil {
		c.fail("bad_rating", chatRatingText(fe.Field), f.ID)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	t, err := c.s.intake.Get(ctx, f.Number)
	if errors.Is(err, intake.ErrNotFound) || err == nil && t.ConversationID != c.conv.ID {
		c.fail("not_found", i18n.Both("error.chat_no_ticket"), f.ID)
		return
	}
	if err != nil {
		c.s.log.Error("chat: rating", "err", err)
		c.fail(errInternal, i18n.Both("error.internal"), f.ID)
		return
	}
	got, refused, err := c.s.rate(ctx, t, req, false)
	if err != nil {
		c.s.log.Error("chat: rating", "err", err)
		c.fail(errInternal, i18n.Both("error.internal"), f.ID)
		return
	}
	if refused != nil {
		c.fail(refused.code, cmp.Or(chatRatingText(refused.code), refused.message), f.ID)
		return
	}
	reopened := got.Status != intake.Rated
	text := i18n.T(i18n.Zh, "chat.rated")
	if reopened {
		text = i18n.T(i18n.Zh, "chat.rated.reopened", "due", got.DueBy.In(intake.Beijing).Format("1月2日 15:04"))
	}
	if _, err := c.s.addTurn(ctx, c.conv.ID, intake.Turn{From: "system", Text: text}); err != nil {
		c.s.log.Error("chat: storing the rating turn", "err", err)
	}
	c.queueJSON(ratedFrame{Type: "rated", ReplyTo: f.ID, Number: got.Number, Reopened: reopened, Text: text})
}

// feedbackFrame is 这个回答有帮助吗.
type feedbackFrame struct {
	ReplyTo string `json:"reply_to"`
	Helpful *bool  `json:"helpful"`
}

// maxAnswers is how many recent answers of a connection can be voted on.
const maxAnswers = 50

// rememberAnswer keeps an answer's topic by the ask it replied to, for a vote.
func (c *chatConn) rememberAnswer(r intake.Reply) {
	if r.Decision != bot.Answer || r.Topic == "" || r.ReplyTo == "" {
		return
	}
	if c.answers == nil {
		c.answers = map[string]string{}
	}
	if len(c.answers) >= maxAnswers {
		clear(c.answers) // old answers are no longer on the resident's screen
	}
	c.answers[r.ReplyTo] = r.Topic
}

func (c *chatConn) feedback(f feedbackFrame) {
	if !c.signals.Allow() {
		c.fail(errRateLimited, i18n.T(i18n.Zh, "chat.feedback.too_fast"), f.ReplyTo)
		return
	}
	if f.Helpful == nil {
		c.fail("bad_feedback", i18n.T(i18n.Zh, "chat.feedback.missing"), f.ReplyTo)
		return
	}
	topic, ok := c.answers[f.ReplyTo]
	if !ok {
		c.fail("not_found", i18n.T(i18n.Zh, "chat.feedback.expired"), f.ReplyTo)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	if err := c.s.reports.AddFeedback(ctx, intake.Feedback{ConversationID: c.conv.ID, MessageID: f.ReplyTo,
		Topic: topic, Helpful: *f.Helpful, At: c.s.now()}); err != nil {
		c.s.log.Error("chat: storing feedback", "err", err)
		c.fail(errInternal, i18n.Both("error.internal"), f.ReplyTo)
		return
	}
	c.s.metrics.feedback(*f.Helpful)
}

// surveyAfterResolve asks the resident of an open chat to rate a resolution.
func (s *Server) surveyAfterResolve(t *intake.Ticket) {
	if t.ConversationID != "" {
		s.toResident(t.ConversationID, surveyFor(t))
	}
}
