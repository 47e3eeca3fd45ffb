package sqlite

import "github.com/bayannur/hotline/intake"

// The guide's versions are sqlstore.Shared's (intake/internal/sqlstore/guideversions.go).
var _ intake.GuideVersions = (*Store)(nil)
