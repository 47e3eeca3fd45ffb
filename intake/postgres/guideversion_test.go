package postgres

import (
	"testing"

	"github.com/bayannur/hotline/intake/storetest"
)

func TestGuideVersions(t *testing.T) {
	urls := map[storetest.GuideStore]string{}
	storetest.RunGuideVersions(t, func(t *testing.T) storetest.GuideStore {
		s, url := openTest(t)
		urls[s] = url
		return s
	}, func(t *testing.T, s storetest.GuideStore) storetest.GuideStore {
		return openURL(t, urls[s])
	})
}
