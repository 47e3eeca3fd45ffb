package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/search/bleve"
)

func cmdAsk(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	jsonl := fs.Bool("jsonl", false, "read questions from stdin, one per line (JSON {\"q\",\"community\"} or plain text), write one JSON decision per line")
	community := fs.String("community", "", "the resident's community id")
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "guide directory (default: built-in sample)")
	words, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if !*jsonl && len(words) == 0 {
		return exitError{code: 2, msg: `usage: hotline ask "问题"  or  hotline ask --jsonl < lines`}
	}
	eng, err := loadEngine(ctx, *guide)
	if err != nil {
		return err
	}
	if _, ok := eng.guide.Community(*community); *community != "" && !ok {
		return exitError{code: 2, msg: fmt.Sprintf("--community: unknown community %q", *community)}
	}
	if *jsonl {
		return askLines(ctx, eng.bot, *community, stdin, stdout)
	}
	d, err := eng.bot.Decide(ctx, bot.Message{Text: strings.Join(words, " "), Community: *community})
	if err != nil {
		return err
	}
	// The short text, then every section a phone would fold: on a terminal a person sees all.
	fmt.Fprintln(stdout, bot.FullText(d.Text, d.More))
	for i, o := range d.Options {
		fmt.Fprintf(stdout, "  %d) %s\n", i+1, o.Label)
	}
	return nil
}

// askLine is one input line of ask --jsonl in its JSON form.
type askLine struct {
	Q         *string `json:"q"`
	Community string  `json:"community"`
}

// errorLine is written for a line that could not be decided.
type errorLine struct {
	Decision string `json:"decision"`
	Error    string `json:"error"`
}

// maxLineBytes bounds one input line; a longer one is reported and skipped.
const maxLineBytes = 64 * 1024

// askLines answers each stdin line with exactly one JSON object, in order; a bad line yields an
// error object and the run goes on.
func askLines(ctx context.Context, b *bot.Bot, community string, stdin io.Reader, stdout io.Writer) error {
	r := bufio.NewReaderSize(stdin, 64*1024)
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		line, tooLong, err := readLine(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var out any
		if tooLong {
			out = errorLine{"error", fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		} else {
			out = decideLine(ctx, b, community, line)
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// readLine reads one line without its newline, discarding the rest of a line over maxLineBytes.
func readLine(r *bufio.Reader) (line string, tooLong bool, err error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if err == io.EOF && (len(b) > 0 || tooLong) {
				return string(b), tooLong, nil
			}
			return "", false, err
		}
		if len(b)+len(chunk) > maxLineBytes {
			tooLong = true
		} else {
			b = append(b, chunk...)
		}
		if !isPrefix {
			return string(b), tooLong, nil
		}
	}
}

func decideLine(ctx context.Context, b *bot.Bot, community, line string) any {
	msg := bot.Message{Text: line, Community: community}
	if t := strings.TrimSpace(line); strings.HasPrefix(t, "{") {
		var in askLine
		if err := json.Unmarshal([]byte(t), &in); err != nil {
			return errorLine{"error", "invalid JSON: " + err.Error()}
		}
		if in.Q == nil {
			return errorLine{"error", `missing field "q"`}
		}
		msg.Text = *in.Q
		if in.Community != "" {
			msg.Community = in.Community
		}
	}
	d, err := b.Decide(ctx, msg)
	if err != nil {
		return errorLine{"error", err.Error()}
	}
	return d
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "guide directory (default: built-in sample)")
	min := fs.Float64("min", 0, "exit 1 when strict accuracy is below this fraction")
	hits := fs.Bool("hits", false, "list the model's most probable labels under each confusion")
	cv := fs.Int("cv", 0, "cross-validate on the guide's labelled sets (training/) with this many folds, instead of FILE")
	write := fs.Bool("write", false, "with --cv: write the calibration chosen to the guide directory's calibration.yaml")
	files, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if *cv > 0 {
		if len(files) != 0 {
			return exitError{code: 2, msg: "usage: hotline eval --cv K [--guide DIR [--write]] (no FILE: the guide's own labelled sets are used)"}
		}
		if *write && *guide == "" {
			return exitError{code: 2, msg: "--write needs --guide DIR (the built-in guide is read-only: use --guide search/sample in the source tree)"}
		}
		return crossValidate(ctx, *guide, *cv, *write, *min, stdout)
	}
	if len(files) != 1 {
		return exitError{code: 2, msg: "usage: hotline eval [--guide DIR] [--min 0.9] FILE, or hotline eval --cv K [--guide DIR [--write]]"}
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	items, err := bot.ReadLabelled(f)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	if len(items) == 0 {
		return errors.New(files[0] + ": no labelled messages")
	}
	eng, err := loadEngine(ctx, *guide)
	if err != nil {
		return err
	}
	rep, err := eng.bot.Evaluate(ctx, items)
	if err != nil {
		return err
	}
	rep.Print(stdout, *hits)
	if rep.Accuracy() < *min {
		return exitError{code: 1, msg: fmt.Sprintf("strict accuracy %.3f is below %.3f", rep.Accuracy(), *min)}
	}
	return nil
}

func crossValidate(ctx context.Context, dir string, k int, write bool, minAcc float64, stdout io.Writer) error {
	g, _, err := loadGuide(dir)
	if err != nil {
		return err
	}
	idx, an, err := bleve.Build(ctx, g, nil)
	if err != nil {
		return err
	}
	defer idx.Close()
	rep, err := bot.CrossValidate(ctx, g, idx, an, k)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if write && rep.TooManyGivenNumbers() {
		msg := fmt.Sprintf("calibration.yaml not written: its emergency bar (%.3f) gives %d of %d other messages the emergency numbers, more than %.0f%%",
			rep.Calibration.Emergency, rep.FalseNumbers, rep.Total-rep.Emergencies, 100*bot.MaxOthersGivenNumbers)
		if len(rep.Faintest) > 0 {
			msg += fmt.Sprintf("; the faintest emergency sets it: %q (%s): write more examples of its kind, or see whether its label is right", rep.Faintest[0].Q, rep.Faintest[0].Label)
		}
		return exitError{code: 1, msg: msg}
	}
	if write {
		c := rep.Calibration
		text := fmt.Sprintf("# The bot's calibration, chosen by %d-fold cross-validation over the labelled sets of training/:\n"+
			"# written by `hotline eval --cv %d --guide DIR --write`; run it again after changing the training data.\n"+
			"temperature: %.4f\nanswer: %.3f\nemergency: %.3f\n", k, k, c.Temperature, c.Answer, c.Emergency)
		path := filepath.Join(dir, "calibration.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", path)
	}
	if rep.Accuracy() < minAcc {
		return exitError{code: 1, msg: fmt.Sprintf("strict accuracy %.3f is below %.3f", rep.Accuracy(), minAcc)}
	}
	return nil
}
