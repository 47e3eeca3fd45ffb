package intake

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"
)

// The satisfaction survey (docs/rates.md): a resident rates a resolved ticket — on the rating
// page or through the API with the phone's last four digits, or in the chat the ticket came from.
// An unsolved problem or 不满意 reopens it (ActRate in the lifecycle).

// MaxRatingComment is the longest comment a rating may carry, in characters.
const MaxRatingComment = 500

// Rating is a resident's answer to the survey.
type Rating struct {
	Rating  string `json:"rating"` // Satisfied, BasicallySatisfied or Dissatisfied
	Solved  *bool  `json:"solved"`
	Comment string `json:"comment"`
}

// Check trims the comment and names the first bad field.
func (r *Rating) Check() *FieldError {
	r.Comment = strings.TrimSpace(r.Comment)
	switch {
	case r.Rating != Satisfied && r.Rating != BasicallySatisfied && r.Rating != Dissatisfied:
		return &FieldError{Field: "rating", Reason: "must be satisfied, basically_satisfied or dissatisfied"}
	case r.Solved == nil:
		return &FieldError{Field: "solved", Reason: "say whether the problem was solved: true or false"}
	case utf8.RuneCountInString(r.Comment) > MaxRatingComment || !utf8.ValidString(r.Comment):
		return &FieldError{Field: "comment", Reason: "at most 500 characters"}
	}
	return nil
}

// ErrNotResolved is a rating of a ticket that is not resolved yet.
var ErrNotResolved = errors.New("the ticket is not resolved")

// Rate applies a resident's checked rating to t (amend: change the one given). Besides the
// lifecycle's errors (ErrAlreadyRated, ErrTooLate, ErrNotRated, ErrConflict) it returns
// ErrNotResolved.
func (s *Service) Rate(ctx context.Context, t *Ticket, r Rating, amend bool) (*Ticket, error) {
	if t.Status != Resolved && t.Status != Rated {
		return nil, ErrNotResolved
	}
	return s.Apply(ctx, t.Number, t.Version, Change{
		Action: ActRate, Actor: "resident", Rating: r.Rating, Solved: r.Solved, Note: r.Comment, Amend: amend,
	})
}
