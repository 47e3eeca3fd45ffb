// Command hotline is the community hotline service: the resident chat bot, intake tickets and
// the staff consoles, in one binary.
//
//	hotline serve                 run the service (embedded defaults)
//	hotline ask "俺家暖气不热"      print the bot's reply
//	hotline ask --jsonl           one JSON decision per stdin line
//	hotline eval FILE             measure the bot on labelled messages
//	hotline guide check [DIR]     validate a guide directory
//	hotline guide export DIR      write the database's current guide version to a directory
//	hotline guide import DIR      store a directory as the guide's next version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/bot/modelfile"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/bleve"
)

const usage = `hotline — 社区服务热线

usage:
  hotline serve [--addr :8080] [--data ./data] [--guide DIR]
  hotline ask [--guide DIR] [--community ID] "问题"
  hotline ask --jsonl [--guide DIR] [--community ID] < lines
  hotline eval [--guide DIR] [--min 0.9] FILE
  hotline guide check [DIR]
  hotline guide export [--database URL | --data DIR] [--version N] DIR
  hotline guide import [--database URL | --data DIR] [--note TEXT] DIR
  hotline user add --role operator|manager|admin|grid_worker [--grid ID] NAME   (password on stdin)
  hotline user token [--label TEXT] NAME     (prints a new API token, also an Open311 api_key)
  hotline user list
  hotline webhook add|list|remove|deliveries|replay   (webhook subscriptions: hotline webhook)
  hotline bench chat [--url URL] [--pid PID] [--idle N] [--active N] [--asks N] [--questions FILE] [--echo]
  hotline bench tickets --token TOKEN [--url URL]… [--clients 8] [--duration 10s] [--pid PID,…]

Environment: HOTLINE_ADDR, HOTLINE_DATA, HOTLINE_GUIDE set the defaults of --addr, --data, --guide.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stderr)
	case "ask":
		err = cmdAsk(ctx, args[1:], stdin, stdout, stderr)
	case "eval":
		err = cmdEval(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "user":
		err = cmdUser(ctx, args[1:], stdin, stdout, stderr)
	case "webhook":
		err = cmdWebhook(ctx, args[1:], stdout, stderr)
	case "guide":
		err = cmdGuide(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hotline: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(stderr, exit.msg)
		}
		return exit.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "hotline:", err)
		return 1
	}
}

type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// parseFlags parses a subcommand's flags, writing usage and errors to stderr; a bad flag is a
// usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{code: 2}
	}
	return nil
}

// parseInterspersed parses fs's flags before, between and after the positional arguments
// (hotline user token NAME --ttl 720h) and returns the positional ones; after "--" every
// argument is positional.
func parseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, stderr); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// guideFS returns the guide directory to use: dir if given, else the built-in sample.
func guideFS(dir string) fs.FS {
	if dir == "" {
		return search.SampleGuide()
	}
	return os.DirFS(dir)
}

// engine is a bot over a loaded guide.
type engine struct {
	guide *search.Guide
	bot   *bot.Bot
	index *bleve.Index
}

// loadGuide loads and checks a guide (the built-in one when dir is empty) against the spec.
func loadGuide(dir string) (*search.Guide, *search.Spec, error) {
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		return nil, nil, err
	}
	g, problems := search.Load(guideFS(dir), spec)
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("guide has %d problem(s); run `hotline guide check`:\n%w", len(problems), problems)
	}
	return g, spec, nil
}

// buildBot indexes a loaded guide and builds the bot over it, keeping its trained model in
// modelDir (none when empty: see bot.NewKept).
func buildBot(ctx context.Context, g *search.Guide, modelDir string) (*engine, error) {
	an, err := analyzerFor(g) // the last one, when g names the same words and places (guide.go)
	if err != nil {
		return nil, err
	}
	// The index and the model are made from the guide at the same time: training does not look
	// anything up.
	idx := bleve.New(an)
	indexed := make(chan error, 1)
	go func() { indexed <- idx.Load(ctx, g, nil) }()
	var kept bot.ModelStore
	if modelDir != "" {
		kept = modelfile.Dir(modelDir)
	}
	b, err := bot.NewKept(g, idx, an, kept)
	if ierr := <-indexed; err == nil {
		err = ierr
	}
	if err != nil {
		idx.Close()
		return nil, err
	}
	return &engine{guide: g, bot: b, index: idx}, nil
}

// loadEngine loads a guide and builds the bot over it.
func loadEngine(ctx context.Context, dir string) (*engine, error) {
	g, _, err := loadGuide(dir)
	if err != nil {
		return nil, err
	}
	return buildBot(ctx, g, "")
}

func cmdGuideCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guide check", flag.ContinueOnError)
	dirs, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	dir := ""
	if len(dirs) > 0 {
		dir = dirs[0]
	}
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		return err
	}
	name := dir
	if dir == "" {
		name = "built-in guide"
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	g, problems := search.Load(guideFS(dir), spec)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", name, len(problems))}
	}
	people := 0
	for _, c := range g.Communities() {
		for _, gr := range c.Grids {
			people += len(gr.People)
		}
	}
	fmt.Fprintf(stdout, "%s: ok — %d entries, %d towns, %d communities, %d people, %d synonym groups\n",
		name, len(g.Entries), len(g.Towns), len(g.Communities()), people, len(g.Synonyms))
	return nil
}

func init() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
}
