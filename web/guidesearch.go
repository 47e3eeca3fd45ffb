package web

import (
	"context"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/search"
)

// GuideIndex is a guide index outside the process, shared by the nodes (search/meili on a
// Meilisearch server), that the console's guide search and contact lookup ask first. The bot's
// own decisions never use it.
type GuideIndex interface {
	// Ready tells whether the index may be asked now: the guide is on it and it was reachable.
	// When it is not, the in-process index answers without waiting on the network.
	Ready() bool
	// SearchEntries returns up to limit guide entries for an operator's query, best first.
	SearchEntries(ctx context.Context, query string, limit int) ([]search.EntryHit, error)
	// SearchContacts returns up to limit places and people for the query, best first, each as
	// the community it belongs to.
	SearchContacts(ctx context.Context, query string, limit int) ([]search.ContactHit, error)
}

// lookupGuide answers the console's guide search: from the shared index when there is one and
// it is ready, else — or when it fails — from the bot's in-process index.
func (s *Server) lookupGuide(ctx context.Context, b *bot.Bot, q string, limit int) ([]bot.GuideHit, []bot.PlaceHit, error) {
	if x := s.guideIndex; x != nil && x.Ready() {
		entries, places, err := s.lookupShared(ctx, b, x, q, limit)
		if err == nil {
			return entries, places, nil
		}
		s.log.Warn("guide search: the shared index failed; answering from the in-process index", "err", err)
	}
	return b.Lookup(ctx, q, limit)
}

// lookupShared asks the shared index and describes its hits from this node's guide: an entry or
// a community it does not know (the shared index holds another version of the guide) is left out.
func (s *Server) lookupShared(ctx context.Context, b *bot.Bot, x GuideIndex, q string, limit int) ([]bot.GuideHit, []bot.PlaceHit, error) {
	hits, err := x.SearchEntries(ctx, q, limit)
	if err != nil {
		return nil, nil, err
	}
	// Several people, grids and compounds of one community may match: ask for more, keep each
	// community once.
	contacts, err := x.SearchContacts(ctx, q, 4*limit)
	if err != nil {
		return nil, nil, err
	}
	entries, places := []bot.GuideHit{}, []bot.PlaceHit{}
	for _, h := range hits {
		e, ok := s.guide.Entry(h.ID)
		if !ok || e.Kind == search.KindIntent || len(entries) == limit {
			continue
		}
		if title, text, ok := b.EntryText(e.ID); ok {
			entries = append(entries, bot.GuideHit{ID: e.ID, Title: title, Kind: e.Kind, Text: text})
		}
	}
	seen := map[string]bool{}
	for _, h := range contacts {
		c, ok := s.guide.Community(h.CommunityID)
		if !ok || seen[c.ID] || len(places) == limit {
			continue
		}
		seen[c.ID] = true
		places = append(places, bot.PlaceHit{ID: c.ID, Name: c.Name, Town: c.TownName})
	}
	return entries, places, nil
}
