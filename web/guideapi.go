package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// The guide editor's API (managers and admins): the current version's files, the history, a
// preview of a draft's answers, publishing a draft and rolling back. A draft is the files changed
// on a base version: each file's new text, or null to delete it. Every draft is checked by the
// loader of `hotline guide check`: a guide it refuses is 400 invalid_guide with its problems, each
// at file:line.

// MaxGuideBodyBytes bounds a draft: the whole sample guide is under 1 MiB.
const MaxGuideBodyBytes = 4 << 20

// Preview limits: questions a preview answers, and characters a question may have.
const (
	previewQuestions = 10
	previewChars     = 500
)

func (s *Server) mountGuideAPI() {
	m := intake.RoleManager
	s.handle("GET /api/v1/guide", s.staff(s.guideCurrent, m))
	s.handle("GET /api/v1/guide/files/{name...}", s.staff(s.guideFile, m))
	s.handle("GET /api/v1/guide/versions", s.staff(s.guideVersions, m))
	s.handle("POST /api/v1/guide/versions", s.staff(s.guidePublish, m))
	s.handle("POST /api/v1/guide/versions/{n}/rollback", s.staff(s.guideRollback, m))
	s.handle("POST /api/v1/guide/preview", s.staff(s.guidePreview, m))
	s.handle("POST /api/v1/guide/contacts", s.staff(s.guideContacts, m))
	s.handle("POST /api/v1/guide/entry", s.staff(s.guideEntry, m))
}

// guideVersionDoc is a version as the API shows it.
type guideVersionDoc struct {
	Number     int64     `json:"number"`
	Author     string    `json:"author"`
	Note       string    `json:"note"`
	Published  time.Time `json:"published"`
	RollbackOf int64     `json:"rollback_of,omitempty"`
	Digest     string    `json:"digest"`
}

func versionDoc(v *intake.GuideVersion) guideVersionDoc {
	return guideVersionDoc{Number: v.Number, Author: v.Author, Note: v.Note, Published: v.Published, RollbackOf: v.RollbackOf, Digest: v.Digest}
}

// guideFileDoc names a file of a version.
type guideFileDoc struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// currentFiles returns the current version and its files; without one, version 0: the files
// the node was started with (Config.GuideFiles).
func (s *Server) currentFiles(ctx context.Context) (*intake.GuideVersion, error) {
	v, err := s.guides.store.CurrentGuide(ctx)
	if errors.Is(err, intake.ErrNotFound) {
		return &intake.GuideVersion{Files: s.guides.files0, Digest: s.guides.digest0}, nil
	}
	return v, err
}

// filesOf returns version n's files (0: the files the node was started with).
func (s *Server) filesOf(ctx context.Context, n int64) ([]intake.GuideFile, error) {
	if n == 0 {
		return s.guides.files0, nil
	}
	v, err := s.guides.store.GuideVersion(ctx, n)
	if err != nil {
		return nil, err
	}
	return v.Files, nil
}

// GET /api/v1/guide: the current version, its files, and the version this node serves.
func (s *Server) guideCurrent(w http.ResponseWriter, r *http.Request) {
	v, err := s.currentFiles(r.Context())
	if err != nil {
		s.internal(w, "guide: current version", err)
		return
	}
	files := make([]guideFileDoc, len(v.Files))
	for i, f := range v.Files {
		files[i] = guideFileDoc{Name: f.Name, Size: len(f.Data)}
	}
	out := map[string]any{"serving": s.GuideVersion(), "files": files, "version": nil}
	if v.Number > 0 {
		out["version"] = versionDoc(v)
	}
	writeJSON(w, http.StatusOK, out)
}

// GET /api/v1/guide/files/{name...}?version=N: one file's text (default: the current version).
func (s *Server) guideFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var files []intake.GuideFile
	n := int64(-1)
	if q := r.URL.Query().Get("version"); q != "" {
		var err error
		if n, err = strconv.ParseInt(q, 10, 64); err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid_version", "version: want a version number")
			return
		}
	}
	var err error
	if n < 0 {
		var v *intake.GuideVersion
		if v, err = s.currentFiles(r.Context()); err == nil {
			files, n = v.Files, v.Number
		}
	} else {
		files, err = s.filesOf(r.Context(), n)
	}
	switch {
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no guide version %d", n))
		return
	case err != nil:
		s.internal(w, "guide: file", err)
		return
	}
	for _, f := range files {
		if f.Name == name {
			writeJSON(w, http.StatusOK, map[string]any{"name": name, "version": n, "text": string(f.Data)})
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("version %d has no file %q", n, name))
}

// GET /api/v1/guide/versions: the history, newest first.
func (s *Server) guideVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.guides.store.GuideHistory(r.Context(), 200)
	if err != nil {
		s.internal(w, "guide: history", err)
		return
	}
	out := make([]guideVersionDoc, len(vs))
	for i := range vs {
		out[i] = versionDoc(&vs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out, "serving": s.GuideVersion()})
}

// guideDraft is the body of a publish or a preview.
type guideDraft struct {
	Base  *int64             `json:"base"`
	Note  string             `json:"note"`
	Files map[string]*string `json:"files"` // new text by name; null deletes the file
	// Questions are what a preview answers, asked in Community (optional).
	Questions []string `json:"questions"`
	Community string   `json:"community"`
}

// draftFiles decodes a draft and returns its files: the base version's with the draft's
// changes. It answers 4xx itself when it returns false.
func (s *Server) draftFiles(w http.ResponseWriter, r *http.Request, d *guideDraft) ([]intake.GuideFile, bool) {
	if !decodeJSONLimit(w, r, d, MaxGuideBodyBytes) {
		return nil, false
	}
	if d.Base == nil {
		writeError(w, http.StatusBadRequest, "missing_field", `missing field "base": the version the draft was made from (0: none stored yet)`)
		return nil, false
	}
	base, err := s.filesOf(r.Context(), *d.Base)
	switch {
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusBadRequest, "invalid_base", fmt.Sprintf("base: no guide version %d", *d.Base))
		return nil, false
	case err != nil:
		s.internal(w, "guide: base version", err)
		return nil, false
	}
	files := make([]intake.GuideFile, 0, len(base)+len(d.Files))
	for _, f := range base {
		if _, changed := d.Files[f.Name]; !changed {
			files = append(files, f)
		}
	}
	for name, text := range d.Files {
		if text == nil {
			continue
		}
		if !utf8.ValidString(*text) {
			writeError(w, http.StatusBadRequest, "invalid_guide", name+": not UTF-8")
			return nil, false
		}
		files = append(files, intake.GuideFile{Name: name, Data: []byte(*text)})
	}
	if err := intake.CheckGuideFiles(files); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_guide", err.Error())
		return nil, false
	}
	return files, true
}

// problemDoc is one problem of a draft, at file:line.
type problemDoc struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// writeProblems answers 400 invalid_guide with the loader's problems.
func writeProblems(w http.ResponseWriter, ps search.Problems) {
	docs := make([]problemDoc, len(ps))
	for i, p := range ps {
		docs[i] = problemDoc{p.File, p.Line, p.Reason}
	}
	msg := fmt.Sprintf("the guide has %d problem(s); the first: %s", len(ps), ps[0])
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": msg, "code": "invalid_guide", "problems": docs})
}

// POST /api/v1/guide/versions {base, note, files}: publish a draft as the next version.
func (s *Server) guidePublish(w http.ResponseWriter, r *http.Request) {
	var d guideDraft
	files, ok := s.draftFiles(w, r, &d)
	if !ok {
		return
	}
	if _, problems := s.guides.loadFiles(files); len(problems) > 0 {
		writeProblems(w, problems)
		return
	}
	base := *d.Base
	if base == 0 {
		// The first version published: the guide the nodes started with is stored first, as
		// version 1, so that the history holds it and a rollback can bring it back.
		first := &intake.GuideVersion{Author: "hotline", Note: "启动时的指南（内置或 --guide）", Files: s.guides.files0}
		err := s.guides.store.PublishGuide(r.Context(), 0, first)
		switch {
		case errors.Is(err, intake.ErrConflict):
			writeError(w, http.StatusConflict, "conflict", "the guide was published by someone else meanwhile: reload it and make your change again")
			return
		case err != nil:
			s.internal(w, "guide: publish the first version", err)
			return
		}
		base = first.Number
	}
	s.publishVersion(w, r, base, &intake.GuideVersion{Note: d.Note, Files: files})
}

// POST /api/v1/guide/versions/{n}/rollback {note}: publish version n's files again.
func (s *Server) guideRollback(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_version", "want a version number")
		return
	}
	var req struct {
		Note string `json:"note"`
		Base *int64 `json:"base"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	old, err := s.guides.store.GuideVersion(r.Context(), n)
	switch {
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no guide version %d", n))
		return
	case err != nil:
		s.internal(w, "guide: rollback", err)
		return
	}
	if _, problems := s.guides.loadFiles(old.Files); len(problems) > 0 {
		writeProblems(w, problems) // a spec changed since: that version no longer loads
		return
	}
	base := int64(-1)
	if req.Base != nil {
		base = *req.Base
	} else if cur, err := s.guides.store.CurrentGuide(r.Context()); err == nil {
		base = cur.Number
	}
	note := req.Note
	if strings.TrimSpace(note) == "" {
		note = fmt.Sprintf("回退到版本 %d", n)
	}
	s.publishVersion(w, r, base, &intake.GuideVersion{Note: note, RollbackOf: n, Files: old.Files})
}

// publishVersion stores v on base, announces it to every node and answers 201.
func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request, base int64, v *intake.GuideVersion) {
	if utf8.RuneCountInString(v.Note) > 500 {
		writeError(w, http.StatusBadRequest, "invalid_note", "note: at most 500 characters")
		return
	}
	if u := staffUser(r); u != nil {
		v.Author = u.Name
	}
	err := s.guides.store.PublishGuide(r.Context(), base, v)
	switch {
	case errors.Is(err, intake.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "the guide was published by someone else meanwhile: reload it and make your change again ("+err.Error()+")")
		return
	case errors.Is(err, intake.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_guide", err.Error())
		return
	case err != nil:
		s.internal(w, "guide: publish", err)
		return
	}
	s.log.Info("guide: published", "version", v.Number, "author", v.Author, "rollback_of", v.RollbackOf)
	s.announceGuide()
	writeJSON(w, http.StatusCreated, versionDoc(v))
}

// POST /api/v1/guide/preview {base, files, questions}: how the bot built from the draft answers
// the questions, beside how the bot serving answers them.
func (s *Server) guidePreview(w http.ResponseWriter, r *http.Request) {
	var d guideDraft
	files, ok := s.draftFiles(w, r, &d)
	if !ok {
		return
	}
	if len(d.Questions) == 0 || len(d.Questions) > previewQuestions {
		writeError(w, http.StatusBadRequest, "invalid_questions", fmt.Sprintf("questions: want 1 to %d", previewQuestions))
		return
	}
	for _, q := range d.Questions {
		if strings.TrimSpace(q) == "" || utf8.RuneCountInString(q) > previewChars {
			writeError(w, http.StatusBadRequest, "invalid_questions", fmt.Sprintf("questions: each of 1 to %d characters", previewChars))
			return
		}
	}
	if _, problems := s.guides.loadFiles(files); len(problems) > 0 {
		writeProblems(w, problems)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	_, draft, release, err := s.guides.engine(ctx, files)
	if err != nil {
		s.internal(w, "guide: preview build", err)
		return
	}
	if release != nil {
		defer release()
	}
	built := time.Since(start)
	serving := s.bot.Load()
	type answer struct {
		Question string        `json:"question"`
		Draft    *bot.Decision `json:"draft"`
		Serving  *bot.Decision `json:"serving,omitempty"`
	}
	out := make([]answer, len(d.Questions))
	for i, q := range d.Questions {
		out[i].Question = q
		if dd, err := draft.Decide(ctx, bot.Message{Text: q, Community: d.Community}); err == nil {
			out[i].Draft = &dd
		}
		if serving != nil {
			if sd, err := serving.Decide(ctx, bot.Message{Text: q, Community: d.Community}); err == nil {
				out[i].Serving = &sd
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"answers": out, "build_ms": built.Milliseconds()})
}
