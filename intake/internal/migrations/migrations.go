// Package migrations is the one ordered list of schema migrations both stores apply at start,
// recorded in each database's schema_migrations by version and name.
//
// A migration is NNNN_name.sql when its SQL serves both databases, or NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql where the SQL differs. A dialect with no file for a version has nothing
// to do for it, and records it all the same, so that every database at one version has one schema
// whichever it is: PostgreSQL's 0001 is the whole schema of SQLite's 0001 to 0005 (it came after
// them), and 0006's desk bus is for the nodes that share a PostgreSQL database. Add a file, never
// edit one that has shipped.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The dialects, as the files name them.
var dialects = []string{"sqlite", "postgres"}

//go:embed *.sql
var files embed.FS

// Migration is one version of the list, as a dialect applies it.
type Migration struct {
	Version int
	Name    string // NNNN_name.sql, the name schema_migrations records in either dialect
	SQL     string // "" when the dialect has nothing to do
}

// For is the list for dialect, "sqlite" or "postgres" (sqlstore.Dialect's String).
func For(dialect string) ([]Migration, error) { return Read(files, ".", dialect) }

// Read lists the migrations of dir in fsys for dialect, sorted by number. A file named otherwise than
// NNNN_name.sql or NNNN_name.DIALECT.sql, two files for one version and dialect, or names that
// differ within a version, is an error.
func Read(fsys fs.FS, dir string, dialect string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	type version struct {
		name  string            // NNNN_name.sql
		files map[string]string // by dialect, "" for the file both share
	}
	versions := map[int]*version{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base, only := strings.TrimSuffix(e.Name(), ".sql"), "" // only: the file's dialect, "" for both
		for _, d := range dialects {
			if b, ok := strings.CutSuffix(base, "."+d); ok {
				base, only = b, d
			}
		}
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || strings.Contains(base, ".") {
			return nil, fmt.Errorf("migration %s: want a name like 0001_init.sql or 0001_init.sqlite.sql", e.Name())
		}
		m := versions[v]
		if m == nil {
			m = &version{name: base + ".sql", files: map[string]string{}}
			versions[v] = m
		}
		_, both := m.files[""]
		_, same := m.files[only]
		if m.name != base+".sql" || same || both || (only == "" && len(m.files) > 0) {
			return nil, fmt.Errorf("migrations %s and %s have the same number", m.name, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m.files[only] = string(b)
	}
	var out []Migration
	for v, m := range versions {
		sql, ok := m.files[""]
		if !ok {
			sql = m.files[dialect]
		}
		out = append(out, Migration{Version: v, Name: m.name, SQL: sql})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Renumbering is a record that an older history of a dialect wrote under another version.
type Renumbering struct {
	Version int    // as recorded
	Name    string // as recorded
	To      int    // its version in the list
}

// Renumbered are dialect's renumberings, which its store makes in schema_migrations before it looks at
// what is applied. Before the one list, intake/postgres numbered its files on its own: it
// recorded its desk bus as version 2, 0002_desk_bus.sql, which is now 0006 (version 2 being
// 0002_chat.sql, which PostgreSQL's 0001 holds). SQLite's history is the list's first five.
func Renumbered(dialect string) []Renumbering {
	if dialect == "postgres" {
		return []Renumbering{{Version: 2, Name: "0002_desk_bus.sql", To: 6}}
	}
	return nil
}
