package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
	"github.com/bayannur/hotline/search/zh"
	"github.com/bayannur/hotline/web"
)

// hotline guide export DIR / import DIR: the guide's versions in the database, as directories
// of the guide format (docs/guide-format.md), for bulk edits and review in git.

func cmdGuide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: usage}
	}
	switch args[0] {
	case "check":
		return cmdGuideCheck(args[1:], stdout, stderr)
	case "export":
		return cmdGuideExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdGuideImport(ctx, args[1:], stdout, stderr)
	}
	return exitError{code: 2, msg: fmt.Sprintf("hotline guide: unknown command %q\n\n%s", args[0], usage)}
}

// guideStore opens the store of --database/--data for the guide's versions.
func guideStore(ctx context.Context, database, data string) (store, intake.GuideVersions, web.Bus, error) {
	st, bus, err := openStore(ctx, database, data)
	if err != nil {
		return nil, nil, nil, err
	}
	gv, ok := st.(intake.GuideVersions)
	if !ok {
		st.Close()
		return nil, nil, nil, errors.New("the store keeps no guide versions")
	}
	return st, gv, bus, nil
}

// guideFiles reads every file of a guide directory (the built-in guide when dir is empty),
// sorted by name.
func guideFiles(dir string) ([]intake.GuideFile, error) {
	m, err := search.ReadFiles(guideFS(dir))
	if err != nil {
		return nil, err
	}
	files := make([]intake.GuideFile, 0, len(m))
	for name, b := range m {
		files = append(files, intake.GuideFile{Name: name, Data: b})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

func cmdGuideExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guide export", flag.ContinueOnError)
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	database := fs.String("database", envOr("HOTLINE_DATABASE", ""), databaseUsage)
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "the guide exported when the database has no version (env HOTLINE_GUIDE; default: built-in sample)")
	version := fs.Int64("version", 0, "the version to export (default: the current one)")
	pos, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return exitError{code: 2, msg: "usage: hotline guide export [--database URL | --data DIR] [--version N] DIR"}
	}
	dir := pos[0]
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%s: not empty; export writes a new directory", dir)}
	}
	st, gv, _, err := guideStore(ctx, *database, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	var v *intake.GuideVersion
	if *version > 0 {
		v, err = gv.GuideVersion(ctx, *version)
	} else {
		v, err = gv.CurrentGuide(ctx)
	}
	what := ""
	switch {
	case errors.Is(err, intake.ErrNotFound) && *version == 0:
		files, err := guideFiles(*guide)
		if err != nil {
			return err
		}
		v = &intake.GuideVersion{Files: files}
		what = "built-in guide (no version in the database)"
		if *guide != "" {
			what = *guide + " (no version in the database)"
		}
	case err != nil:
		return err
	default:
		what = fmt.Sprintf("version %d (%s, %s)", v.Number, v.Published.In(intake.Beijing).Format("2006-01-02 15:04"), v.Note)
	}
	if err := intake.CheckGuideFiles(v.Files); err != nil {
		return err // a name that would write outside DIR
	}
	for _, f := range v.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s: %d files of the %s\n", dir, len(v.Files), what)
	return nil
}

func cmdGuideImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guide import", flag.ContinueOnError)
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	database := fs.String("database", envOr("HOTLINE_DATABASE", ""), databaseUsage)
	note := fs.String("note", "", "what changed, for the history")
	author := fs.String("author", envOr("USER", ""), "who publishes it (default: $USER)")
	pos, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return exitError{code: 2, msg: "usage: hotline guide import [--database URL | --data DIR] [--note TEXT] DIR"}
	}
	dir := pos[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		return err
	}
	// The check of `hotline guide check`, on the very files stored.
	files, err := guideFiles(dir)
	if err != nil {
		return err
	}
	if _, problems := loadFiles(files, spec); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		return exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s); nothing imported", dir, len(problems))}
	}
	st, gv, bus, err := guideStore(ctx, *database, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	var base int64
	switch cur, err := gv.CurrentGuide(ctx); {
	case err == nil:
		base = cur.Number
		if cur.Digest == intake.GuideDigest(files) {
			fmt.Fprintf(stdout, "%s: the same files as version %d; nothing imported\n", dir, cur.Number)
			return nil
		}
	case !errors.Is(err, intake.ErrNotFound):
		return err
	}
	v := &intake.GuideVersion{Author: *author, Note: strings.TrimSpace(*note), Files: files}
	if v.Note == "" {
		v.Note = "hotline guide import " + filepath.Base(dir)
	}
	if err := gv.PublishGuide(ctx, base, v); err != nil {
		return err
	}
	if bus != nil {
		// The nodes on the database switch now; without the bus, within their next look.
		if err := bus.Publish(ctx, web.GuideNotice()); err != nil {
			slog.Warn("guide import: telling the nodes", "err", err)
		}
	}
	fmt.Fprintf(stdout, "%s: imported as version %d (%d files)\n", dir, v.Number, len(files))
	return nil
}

// loadFiles loads a guide from its files against spec.
func loadFiles(files []intake.GuideFile, spec *search.Spec) (*search.Guide, search.Problems) {
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		m[f.Name] = f.Data
	}
	return search.Load(search.FilesFS(m), spec)
}

// startGuide is the guide a node starts with: the database's current version when there is one
// that loads, else fallback (the built-in guide or --guide's), whose files are read from dir.
func startGuide(ctx context.Context, gv intake.GuideVersions, fallback *search.Guide, dir string, spec *search.Spec, log *slog.Logger) (g *search.Guide, v *intake.GuideVersion, err error) {
	var cur *intake.GuideVersion
	err = intake.ErrNotFound // a store without versions
	if gv != nil {
		cur, err = gv.CurrentGuide(ctx)
	}
	switch {
	case err == nil:
		g, problems := loadFiles(cur.Files, spec)
		if len(problems) == 0 {
			log.Info("guide: the database's current version", "version", cur.Number, "published", cur.Published, "author", cur.Author)
			return g, cur, nil
		}
		log.Error("guide: the database's current version does not load; serving the built-in or --guide one", "version", cur.Number, "problems", problems.Error())
	case !errors.Is(err, intake.ErrNotFound):
		return nil, nil, err
	}
	files, err := guideFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	return fallback, &intake.GuideVersion{Files: files, Digest: intake.GuideDigest(files)}, nil
}

// analyzers keeps the last analyzer built, by what it was built from: a new version of the guide
// that changes no keyword, synonym or place name (a phone, an answer) reuses it, which saves most
// of a switch's build. An analyzer is only read once built.
var analyzers struct {
	sync.Mutex
	key [sha256.Size]byte
	an  *zh.Analyzer
}

// analyzerFor returns an analyzer for g, the last one when g names the same words and places.
func analyzerFor(g *search.Guide) (*zh.Analyzer, error) {
	h := sha256.New()
	for _, part := range [][]string{g.Vocabulary(), g.PlaceNames()} {
		for _, w := range part {
			fmt.Fprintf(h, "%d:%s", len(w), w)
		}
		h.Write([]byte{0})
	}
	for _, grp := range g.Synonyms {
		for _, w := range grp {
			fmt.Fprintf(h, "%d:%s", len(w), w)
		}
		h.Write([]byte{1})
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	analyzers.Lock()
	defer analyzers.Unlock()
	if analyzers.an != nil && analyzers.key == key {
		return analyzers.an, nil
	}
	an, err := bleve.Analyzer(g, nil)
	if err != nil {
		return nil, err
	}
	analyzers.key, analyzers.an = key, an
	return an, nil
}
