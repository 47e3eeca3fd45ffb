package search

import "context"

// KindIntent marks a pseudo-entry that stands for what a resident wants of the service itself
// (a contact, the status of a case, a human, small talk, something out of scope) rather than a
// guide topic. The bot adds them to the index beside the guide's entries.
const KindIntent = "intent"

// Index finds guide entries and contacts for a resident's text. The embedded implementation is
// search/bleve; a Meilisearch server can implement it too. Text handed to an Index has already
// been normalized (zh.Analyzer.Normalize); an implementation may segment and expand it further.
type Index interface {
	// Replace indexes entries (guide entries and intents) and the contact tree, replacing what
	// the index held.
	Replace(ctx context.Context, entries []Entry, towns []Town) error
	// SearchEntries returns up to limit entries best first.
	SearchEntries(ctx context.Context, text string, limit int) ([]EntryHit, error)
	// SearchContacts returns up to limit places (communities and compounds) that the text names,
	// best first; none when it names no place.
	SearchContacts(ctx context.Context, text string, limit int) ([]ContactHit, error)
	Close() error
}

// EntryHit is an entry found for a text.
type EntryHit struct {
	ID    string
	Kind  string
	Score float64
}

// ContactHit is a place found for a text: a community, and the compound and grid when the text
// named a compound.
type ContactHit struct {
	CommunityID string
	Compound    string // empty when the community itself matched
	GridID      string
	Score       float64
}
