package intake

import (
	"github.com/bayannur/hotline/search"
)

// GuideDirectory answers Directory questions from the guide's topics, categories and contacts.
type GuideDirectory struct {
	Spec  *search.Spec
	Guide *search.Guide
}

// Topic returns the category of a spec topic.
func (d GuideDirectory) Topic(id string) (string, bool) {
	t, ok := d.Spec.Topics[id]
	return t.Category, ok
}

// Category reports whether code is a spec category.
func (d GuideDirectory) Category(code string) bool {
	_, ok := d.Spec.Categories[code]
	return ok
}

// Community reports whether the guide has the community.
func (d GuideDirectory) Community(id string) bool {
	_, ok := d.Guide.Community(id)
	return ok
}

// Grid reports whether any community has the grid.
func (d GuideDirectory) Grid(id string) bool {
	for _, c := range d.Guide.Communities() {
		if _, ok := c.Grid(id); ok {
			return true
		}
	}
	return false
}

// Route: without a community, the community is the one the address names (by compound, name or
// street). The grid is the compound's grid when the address names one, else the community's
// 总网格. The grid tier goes to its 网格员 (or 网格长), the community tier to the 总网格's 网格长
// or 社区书记, the town tier to the town office.
func (d GuideDirectory) Route(community, address string) (Route, bool) {
	var c *search.Community
	var ok bool
	if community == "" {
		c, ok = d.Guide.Locate(address)
	} else {
		c, ok = d.Guide.Community(community)
	}
	if !ok {
		return Route{}, false
	}
	r := Route{Community: c.ID, Assignee: map[Tier]string{}}
	if g := c.GridFor(address); g != nil {
		r.Grid = g.ID
		r.Assignee[TierGrid] = person(g, "网格员", "网格长", "社区书记")
	}
	if top := c.TopGrid(); top != nil {
		r.Assignee[TierCommunity] = person(top, "网格长", "社区书记")
	}
	r.Assignee[TierTown] = c.TownName
	return r, true
}

// person names the first person of the first role present: "网格员 范某丽".
func person(g *search.Grid, roles ...string) string {
	for _, role := range roles {
		for _, p := range g.People {
			if p.Role == role {
				return role + " " + p.Name
			}
		}
	}
	return g.Name
}
