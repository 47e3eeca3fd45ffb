package sqlite

import (
	"testing"

	"github.com/bayannur/hotline/intake/storetest"
)

func TestGuideVersions(t *testing.T) {
	storetest.RunGuideVersions(t, func(t *testing.T) storetest.GuideStore {
		s, _ := openTemp(t)
		return s
	}, func(t *testing.T, s storetest.GuideStore) storetest.GuideStore {
		other, err := Open(s.(*Store).path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		return other
	})
}
