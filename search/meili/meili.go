// Package meili puts the guide on a Meilisearch server (github.com/meilisearch/meilisearch-go),
// the index several nodes share for the console's guide search and contact lookup. The bot's
// own decision never asks it: it stays on the in-process index (search/bleve).
//
// Two indexes, named with a prefix (hotline_ by default): PREFIX+"entries" holds the guide's
// entries, PREFIX+"contacts" its communities, compounds, grids and grid workers. Publish sets
// their settings (searchable and filterable attributes, the guide's synonyms, ranking rules) and
// replaces their documents, waiting for each task: a task that failed is an error carrying the
// task's error code and message, and one not finished in time is an error too.
package meili

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/bayannur/hotline/search"
)

// DefaultPrefix starts the names of the two indexes: hotline_entries and hotline_contacts.
const DefaultPrefix = "hotline_"

// Defaults of Config's durations.
const (
	DefaultTaskTimeout   = time.Minute
	DefaultSearchTimeout = 2 * time.Second
	DefaultPollInterval  = 50 * time.Millisecond
)

// Config is where the server is and how long to wait for it.
type Config struct {
	URL string // http://host:7700
	Key string // the master key or an API key allowed to search, add documents and change settings
	// Prefix starts the index names (DefaultPrefix when empty): ASCII letters, digits, - and _.
	Prefix string
	// TaskTimeout bounds the wait for each task of Publish (DefaultTaskTimeout when 0).
	TaskTimeout time.Duration
	// SearchTimeout bounds one search (DefaultSearchTimeout when 0).
	SearchTimeout time.Duration
	// PollInterval is how often a task is looked at while waiting (DefaultPollInterval when 0).
	PollInterval time.Duration
	// HTTPClient makes the requests (nil: a client of its own).
	HTTPClient *http.Client
}

// Client is the guide on one Meilisearch server. It is safe for concurrent use.
type Client struct {
	url                    string
	sm                     meilisearch.ServiceManager
	entries, contacts      string
	taskTimeout, searchMax time.Duration
	poll                   time.Duration
}

// ErrUnreachable: the server could not be reached (refused, reset, no answer in time).
var ErrUnreachable = errors.New("meilisearch unreachable")

// ErrKey: the server refused the key (none given where one is needed, or a wrong one).
var ErrKey = errors.New("meilisearch refused the key")

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// New checks cfg and returns a client; it does not talk to the server yet.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("meilisearch URL %q: want http://HOST:PORT or https://HOST (no user, query or fragment)", cfg.URL)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("meilisearch index prefix %q: want 1 to 100 ASCII letters, digits, - or _", prefix)
	}
	if strings.ContainsAny(cfg.Key, " \t\r\n") {
		return nil, errors.New("meilisearch key: must not contain spaces or line breaks")
	}
	base := strings.TrimSuffix(u.String(), "/")
	opts := []meilisearch.Option{meilisearch.WithAPIKey(cfg.Key), meilisearch.DisableRetries()}
	if cfg.HTTPClient != nil {
		opts = append(opts, meilisearch.WithCustomClient(cfg.HTTPClient))
	}
	c := &Client{
		url: base, sm: meilisearch.New(base, opts...),
		entries: prefix + "entries", contacts: prefix + "contacts",
		taskTimeout: cfg.TaskTimeout, searchMax: cfg.SearchTimeout, poll: cfg.PollInterval,
	}
	if c.taskTimeout <= 0 {
		c.taskTimeout = DefaultTaskTimeout
	}
	if c.searchMax <= 0 {
		c.searchMax = DefaultSearchTimeout
	}
	if c.poll <= 0 {
		c.poll = DefaultPollInterval
	}
	return c, nil
}

// URL is the server's address.
func (c *Client) URL() string { return c.url }

// Indexes are the names of the entries' and the contacts' indexes.
func (c *Client) Indexes() (entries, contacts string) { return c.entries, c.contacts }

// Close releases the client's idle connections.
func (c *Client) Close() { c.sm.Close() }

// APIError is an error answer of the server: its HTTP status and Meilisearch's error object.
type APIError struct {
	Op      string // what was asked: "update settings of hotline_entries"
	Status  int
	Code    string // index_not_found, invalid_api_key…
	Type    string // invalid_request, auth, internal, system
	Message string
	Link    string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = "no error code"
	}
	s := fmt.Sprintf("meilisearch: %s: %d %s: %s", e.Op, e.Status, code, e.Message)
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		s += " (check the API key)"
	}
	return s
}

// Is makes errors.Is(err, ErrKey) true of a refused key.
func (e *APIError) Is(target error) bool {
	return target == ErrKey && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		e.Code == "missing_authorization_header" || e.Code == "invalid_api_key")
}

// TaskError is a task the server finished without success: failed (with its error object) or
// canceled.
type TaskError struct {
	UID     int64
	Index   string
	Type    string // settingsUpdate, documentAdditionOrUpdate, documentDeletion
	Status  string // failed, canceled
	Code    string
	Message string
	Link    string
}

func (e *TaskError) Error() string {
	if e.Status != string(meilisearch.TaskStatusFailed) {
		return fmt.Sprintf("meilisearch: task %d (%s of %s) %s", e.UID, e.Type, e.Index, e.Status)
	}
	return fmt.Sprintf("meilisearch: task %d (%s of %s) failed: %s: %s", e.UID, e.Type, e.Index, e.Code, e.Message)
}

// wrap turns the library's errors into ErrUnreachable, *APIError or a plain error naming op.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var me *meilisearch.Error
	if !errors.As(err, &me) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w at %s: %s: no answer in time", ErrUnreachable, c.url, op)
		}
		return fmt.Errorf("meilisearch: %s: %w", op, err)
	}
	switch me.ErrCode {
	case meilisearch.CommunicationError, meilisearch.MaxRetriesExceeded:
		return fmt.Errorf("%w at %s: %s: %v", ErrUnreachable, c.url, op, cause(me))
	case meilisearch.TimeoutError:
		if errors.Is(me.OriginError, context.Canceled) {
			return fmt.Errorf("meilisearch: %s: %w", op, context.Canceled)
		}
		return fmt.Errorf("%w at %s: %s: no answer in time", ErrUnreachable, c.url, op)
	case meilisearch.APIError, meilisearch.APIErrorWithoutMessage:
		e := &APIError{Op: op, Status: me.StatusCode, Code: string(me.APIError.Code), Type: me.APIError.Type,
			Message: me.APIError.Message, Link: me.APIError.Link}
		if me.ErrCode == meilisearch.APIErrorWithoutMessage {
			e.Code, e.Message = "", "an answer without an error object"
		}
		return e
	default:
		return fmt.Errorf("meilisearch: %s: %v", op, cause(me))
	}
}

// cause is the library error's origin when it has one (connection refused…), else its message.
func cause(me *meilisearch.Error) error {
	if me.OriginError != nil {
		return me.OriginError
	}
	return me
}

// wait waits for a task and checks how it ended: WaitForTask returns no error for a task that
// failed, so its status is looked at here.
func (c *Client) wait(ctx context.Context, op string, info *meilisearch.TaskInfo) error {
	wctx, cancel := context.WithTimeout(ctx, c.taskTimeout)
	defer cancel()
	t, err := c.sm.WaitForTask(wctx, info.TaskUID, c.poll)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return fmt.Errorf("meilisearch: %s: task %d not finished after %s (is the server's queue stuck?)", op, info.TaskUID, c.taskTimeout)
		}
		return c.wrap(op+": waiting for task "+fmt.Sprint(info.TaskUID), err)
	}
	if t.Status == meilisearch.TaskStatusSucceeded {
		return nil
	}
	te := &TaskError{UID: info.TaskUID, Index: info.IndexUID, Type: string(info.Type), Status: string(t.Status),
		Code: string(t.Error.Code), Message: t.Error.Message, Link: t.Error.Link}
	if te.Index == "" {
		te.Index = t.IndexUID
	}
	if te.Type == "" {
		te.Type = string(t.Type)
	}
	return te
}

// RankingRules are both indexes' ranking rules: Meilisearch's own order, spelled out.
var RankingRules = []string{"words", "typo", "proximity", "attribute", "sort", "exactness"}

// EntrySettings are the settings of the entries' index for a guide.
func EntrySettings(g *search.Guide) *meilisearch.Settings {
	return &meilisearch.Settings{
		RankingRules:         RankingRules,
		SearchableAttributes: []string{"title", "keywords", "examples", "short", "summary", "details"},
		FilterableAttributes: []string{"kind", "category"},
		Synonyms:             Synonyms(g),
		LocalizedAttributes:  []*meilisearch.LocalizedAttributes{{Locales: []string{"cmn"}, AttributePatterns: []string{"*"}}},
	}
}

// ContactSettings are the settings of the contacts' index for a guide.
func ContactSettings(g *search.Guide) *meilisearch.Settings {
	return &meilisearch.Settings{
		RankingRules: RankingRules,
		SearchableAttributes: []string{"name", "aliases", "streets", "buildings", "community_name", "grid_name",
			"role", "town_name", "phone"},
		FilterableAttributes: []string{"kind", "town", "community", "grid", "tier"},
		Synonyms:             Synonyms(g),
		LocalizedAttributes:  []*meilisearch.LocalizedAttributes{{Locales: []string{"cmn"}, AttributePatterns: []string{"*"}}},
	}
}

// Synonyms turns the guide's synonym groups into Meilisearch's synonyms: each word of a group
// stands for every other word of it.
func Synonyms(g *search.Guide) map[string][]string {
	out := map[string][]string{}
	for _, grp := range g.Synonyms {
		for _, w := range grp {
			for _, o := range grp {
				if o != w && o != "" && w != "" && !contains(out[w], o) {
					out[w] = append(out[w], o)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EntryDoc is a guide entry as a document of the entries' index.
type EntryDoc struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Category string   `json:"category"`
	Title    string   `json:"title"`
	Keywords []string `json:"keywords,omitempty"`
	Examples []string `json:"examples,omitempty"`
	Short    string   `json:"short,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	// Details are the answer's sections: conditions, materials, where, hours, phone, steps, the
	// time limit.
	Details []string `json:"details,omitempty"`
}

// ContactDoc is a community, a compound, a grid or a grid worker as a document of the contacts'
// index.
type ContactDoc struct {
	ID            string   `json:"id"`   // community-ID, compound-COMMUNITY-N, grid-ID, person-GRID-N
	Kind          string   `json:"kind"` // community, compound, grid, person
	Name          string   `json:"name"`
	Aliases       []string `json:"aliases,omitempty"`
	Town          string   `json:"town"` // the town's id
	TownName      string   `json:"town_name"`
	Community     string   `json:"community"` // the community's id
	CommunityName string   `json:"community_name"`
	Grid          string   `json:"grid,omitempty"` // the grid's id: a compound's, a grid's own, a person's
	GridName      string   `json:"grid_name,omitempty"`
	Tier          string   `json:"tier,omitempty"`
	Role          string   `json:"role,omitempty"`
	Phone         string   `json:"phone,omitempty"`
	Address       string   `json:"address,omitempty"`
	Hours         string   `json:"hours,omitempty"`
	Streets       []string `json:"streets,omitempty"`
	Buildings     []string `json:"buildings,omitempty"`
}

// Kinds of contact documents.
const (
	KindCommunity = "community"
	KindCompound  = "compound"
	KindGrid      = "grid"
	KindPerson    = "person"
)

// EntryDocs are a guide's entries as documents.
func EntryDocs(g *search.Guide) []EntryDoc {
	docs := make([]EntryDoc, 0, len(g.Entries))
	for _, e := range g.Entries {
		a := e.Answer
		var details []string
		add := func(label string, lines ...string) {
			for _, l := range lines {
				if l = strings.TrimSpace(l); l != "" {
					details = append(details, label+l)
				}
			}
		}
		add("条件：", a.Conditions...)
		add("材料：", a.Materials...)
		add("地点：", string(a.Where))
		add("时间：", string(a.Hours))
		add("电话：", string(a.Phone))
		add("步骤：", a.Steps...)
		add("时限：", string(a.TimeLimit))
		docs = append(docs, EntryDoc{ID: e.ID, Kind: e.Kind, Category: e.Category, Title: e.Title, Keywords: e.Keywords,
			Examples: e.Examples, Short: a.Short, Summary: a.Summary, Details: details})
	}
	return docs
}

// ContactDocs are a guide's contacts as documents: each community, each of its compounds, grids
// and the people of each grid.
func ContactDocs(g *search.Guide) []ContactDoc {
	var docs []ContactDoc
	for _, t := range g.Towns {
		for _, c := range t.Communities {
			place := ContactDoc{Town: t.ID, TownName: t.Name, Community: c.ID, CommunityName: c.Name}
			d := place
			d.ID, d.Kind, d.Name, d.Aliases = "community-"+c.ID, KindCommunity, c.Name, c.Aliases
			d.Phone, d.Address, d.Hours, d.Streets = c.Phone, c.Address, c.Hours, c.Streets
			if top := c.TopGrid(); top != nil {
				d.Grid, d.GridName = top.ID, top.Name
			}
			docs = append(docs, d)
			for i, cp := range c.Compounds {
				d := place
				d.ID, d.Kind, d.Name, d.Aliases, d.Buildings = fmt.Sprintf("compound-%s-%d", c.ID, i), KindCompound, cp.Name, cp.Aliases, cp.Buildings
				if gr, ok := c.Grid(cp.Grid); ok {
					d.Grid, d.GridName = gr.ID, gr.Name
				}
				docs = append(docs, d)
			}
			for _, gr := range c.Grids {
				d := place
				d.ID, d.Kind, d.Name, d.Grid, d.GridName, d.Tier = "grid-"+gr.ID, KindGrid, gr.Name, gr.ID, gr.Name, gr.Tier
				docs = append(docs, d)
				for i, p := range gr.People {
					d := place
					d.ID, d.Kind, d.Name, d.Role, d.Phone, d.Hours = fmt.Sprintf("person-%s-%d", gr.ID, i), KindPerson, p.Name, p.Role, p.Phone, p.Hours
					d.Grid, d.GridName, d.Tier = gr.ID, gr.Name, gr.Tier
					docs = append(docs, d)
				}
			}
		}
	}
	return docs
}

// Publish puts a guide on the server: both indexes' settings, then their documents, replacing
// what they held (documents of an earlier guide that this one no longer has are deleted). It
// waits for every task; the first that fails, or does not finish within the task timeout, is
// the error. Searches meanwhile see the earlier documents or the new ones, never an empty index.
func (c *Client) Publish(ctx context.Context, g *search.Guide) error {
	if g == nil {
		return errors.New("meilisearch: publish: no guide")
	}
	entries, contacts := EntryDocs(g), ContactDocs(g)
	entryIDs := make(map[string]bool, len(entries))
	for _, d := range entries {
		entryIDs[d.ID] = true
	}
	contactIDs := make(map[string]bool, len(contacts))
	for _, d := range contacts {
		contactIDs[d.ID] = true
	}
	if err := c.replace(ctx, c.entries, EntrySettings(g), entries, len(entries), entryIDs); err != nil {
		return err
	}
	return c.replace(ctx, c.contacts, ContactSettings(g), contacts, len(contacts), contactIDs)
}

// bounded bounds one request by the task timeout: a server that takes the connection and never
// answers holds nobody forever.
func (c *Client) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.taskTimeout)
}

// replace sets one index's settings, adds or replaces its documents, then deletes the ones not
// in keep.
func (c *Client) replace(ctx context.Context, uid string, settings *meilisearch.Settings, docs any, n int, keep map[string]bool) error {
	x := c.sm.Index(uid)
	// enqueue sends one write and waits for its task.
	enqueue := func(op string, send func(context.Context) (*meilisearch.TaskInfo, error)) error {
		rctx, cancel := c.bounded(ctx)
		info, err := send(rctx)
		cancel()
		if err != nil {
			return c.wrap(op, err)
		}
		return c.wait(ctx, op, info)
	}
	err := enqueue("update settings of "+uid, func(ctx context.Context) (*meilisearch.TaskInfo, error) {
		return x.UpdateSettings(ctx, settings)
	})
	if err != nil {
		return err
	}
	if n > 0 {
		pk := "id"
		err := enqueue("add documents to "+uid, func(ctx context.Context) (*meilisearch.TaskInfo, error) {
			return x.AddDocuments(ctx, docs, &meilisearch.DocumentOptions{PrimaryKey: &pk})
		})
		if err != nil {
			return err
		}
	}
	stale, err := c.staleIDs(ctx, x, uid, keep)
	if err != nil || len(stale) == 0 {
		return err
	}
	return enqueue(fmt.Sprintf("delete %d stale documents of %s", len(stale), uid), func(ctx context.Context) (*meilisearch.TaskInfo, error) {
		return x.DeleteDocuments(ctx, stale, nil)
	})
}

// staleIDs lists the ids of an index's documents that are not in keep.
func (c *Client) staleIDs(ctx context.Context, x meilisearch.IndexManager, uid string, keep map[string]bool) ([]string, error) {
	const page = 1000
	var stale []string
	for offset := int64(0); ; offset += page {
		var res meilisearch.DocumentsResult
		rctx, cancel := c.bounded(ctx)
		err := x.GetDocuments(rctx, &meilisearch.DocumentsQuery{Offset: offset, Limit: page, Fields: []string{"id"}}, &res)
		cancel()
		if err != nil {
			return nil, c.wrap("list the documents of "+uid, err)
		}
		for _, h := range res.Results {
			var id string
			if err := json.Unmarshal(h["id"], &id); err != nil {
				return nil, fmt.Errorf("meilisearch: a document of %s has no string id: %w", uid, err)
			}
			if !keep[id] {
				stale = append(stale, id)
			}
		}
		if len(res.Results) < page || offset+page >= res.Total {
			return stale, nil
		}
	}
}

type entryHit struct {
	ID    string  `json:"id"`
	Kind  string  `json:"kind"`
	Score float64 `json:"_rankingScore"`
}

type contactHit struct {
	Kind      string  `json:"kind"`
	Name      string  `json:"name"`
	Community string  `json:"community"`
	Grid      string  `json:"grid"`
	Score     float64 `json:"_rankingScore"`
}

// SearchEntries returns up to limit guide entries for a query, best first; none for a blank one.
func (c *Client) SearchEntries(ctx context.Context, text string, limit int) ([]search.EntryHit, error) {
	var hits []entryHit
	if err := c.search(ctx, c.entries, text, limit, []string{"id", "kind"}, &hits); err != nil {
		return nil, err
	}
	out := make([]search.EntryHit, 0, len(hits))
	for _, h := range hits {
		out = append(out, search.EntryHit{ID: h.ID, Kind: h.Kind, Score: h.Score})
	}
	return out, nil
}

// SearchContacts returns up to limit places and people for a query, best first, each as the
// community it belongs to (with the compound's name for a compound, and the grid of a compound,
// a grid or a grid worker); none for a blank query.
func (c *Client) SearchContacts(ctx context.Context, text string, limit int) ([]search.ContactHit, error) {
	var hits []contactHit
	if err := c.search(ctx, c.contacts, text, limit, []string{"kind", "name", "community", "grid"}, &hits); err != nil {
		return nil, err
	}
	out := make([]search.ContactHit, 0, len(hits))
	for _, h := range hits {
		hit := search.ContactHit{CommunityID: h.Community, GridID: h.Grid, Score: h.Score}
		if h.Kind == KindCompound {
			hit.Compound = h.Name
		}
		out = append(out, hit)
	}
	return out, nil
}

func (c *Client) search(ctx context.Context, uid, text string, limit int, fields []string, into any) error {
	text = strings.TrimSpace(text)
	if text == "" { // Meilisearch answers an empty query with every document
		return nil
	}
	if limit <= 0 {
		return fmt.Errorf("meilisearch: search %s: limit %d: want at least 1", uid, limit)
	}
	ctx, cancel := context.WithTimeout(ctx, c.searchMax)
	defer cancel()
	res, err := c.sm.Index(uid).Search(ctx, text, &meilisearch.SearchRequest{
		Limit: int64(limit), AttributesToRetrieve: fields, ShowRankingScore: true,
	})
	if err != nil {
		return c.wrap("search "+uid, err)
	}
	raw, err := json.Marshal(res.Hits)
	if err == nil {
		err = json.Unmarshal(raw, into)
	}
	if err != nil {
		return fmt.Errorf("meilisearch: search %s: the hits: %w", uid, err)
	}
	return nil
}

// Health asks the server whether it is available (GET /health, which needs no key).
func (c *Client) Health(ctx context.Context) error {
	h, err := c.sm.Health(ctx)
	if err != nil {
		return c.wrap("health", err)
	}
	if h.Status != "available" {
		return fmt.Errorf("%w at %s: health %q", ErrUnreachable, c.url, h.Status)
	}
	return nil
}
