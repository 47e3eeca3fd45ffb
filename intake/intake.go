// Package intake is the work-order (工单) domain: tickets, their 12345 lifecycle, SLA clocks and
// escalation up the grid tiers. This first cut holds only what the bot needs to say which fields a
// report must collect; the store and lifecycle arrive with the intake issue.
package intake

// Urgency of a ticket.
type Urgency string

// Urgencies.
const (
	Normal    Urgency = "normal"
	Urgent    Urgency = "urgent"
	Emergency Urgency = "emergency"
)

// Tier is where a ticket sits on the ladder 小事不出社区、大事不出镇: grid first, then community,
// then town.
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
