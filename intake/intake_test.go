package intake

import "testing"

func TestTierUp(t *testing.T) {
	for from, want := range map[Tier]Tier{TierGrid: TierCommunity, TierCommunity: TierTown} {
		if got, ok := from.Up(); !ok || got != want {
			t.Errorf("%s.Up() = %s, %v; want %s", from, got, ok, want)
		}
	}
	if got, ok := TierTown.Up(); ok || got != TierTown {
		t.Errorf("town.Up() = %s, %v; want town and false: there is nothing above the town", got, ok)
	}
}
