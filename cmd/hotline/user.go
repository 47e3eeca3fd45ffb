package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: userUsage}
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	database := fs.String("database", envOr("HOTLINE_DATABASE", ""), databaseUsage)
	role := fs.String("role", "", "add: operator, manager, admin or grid_worker")
	grid := fs.String("grid", "", "add: the grid id of a grid worker")
	label := fs.String("label", "", "token: what the token is for")
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "add: guide directory the grid must be in (default: built-in sample)")
	ttl := fs.Duration("ttl", defaultTokenTTL, "token: how long the new token works")
	pos, err := parseInterspersed(fs, args[1:], stderr)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, *database, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "add":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline user add --role ROLE [--grid ID] NAME  (password on stdin)"}
		}
		u := &intake.User{Name: pos[0], Role: intake.Role(*role), Grid: *grid, Created: time.Now()}
		if err := checkUser(u, *guide); err != nil {
			return exitError{code: 2, msg: err.Error()}
		}
		if u.PasswordHash, err = readPassword(u.Name, stdin, stderr); err != nil {
			return err
		}
		if err := st.AddUser(ctx, u); err != nil {
			if errors.Is(err, intake.ErrConflict) {
				return exitError{code: 1, msg: "user " + u.Name + " already exists"}
			}
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", u.Name, u.Role)
	case "token":
		if len(pos) != 1 || *ttl <= 0 {
			return exitError{code: 2, msg: "usage: hotline user token [--label TEXT] [--ttl 2160h] NAME  (--ttl above 0)"}
		}
		if _, err := st.User(ctx, pos[0]); err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		token, hash := web.NewToken()
		now := time.Now()
		tok := intake.APIToken{TokenHash: hash, User: pos[0], Label: *label, Created: now, Expires: now.Add(*ttl)}
		if err := st.AddToken(ctx, tok); err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stderr, "API token %s of %s, expires %s\n", hash[:intake.TokenIDLength], pos[0], tok.Expires.In(intake.Beijing).Format(tokenTime))
	case "tokens":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline user tokens NAME"}
		}
		toks, err := st.Tokens(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tLAST USED\tLABEL")
		for _, t := range toks {
			exp := "never"
			if !t.Expires.IsZero() {
				exp = t.Expires.In(intake.Beijing).Format(tokenTime)
			}
			if t.Expired(now) {
				exp += " (expired)"
			}
			created := "-"
			if !t.Created.IsZero() {
				created = t.Created.In(intake.Beijing).Format(tokenTime)
			}
			used := "-"
			if !t.LastUsed.IsZero() {
				used = t.LastUsed.In(intake.Beijing).Format(tokenTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, created, exp, used, t.Label)
		}
		tw.Flush()
	case "revoke-token":
		if len(pos) != 2 {
			return exitError{code: 2, msg: "usage: hotline user revoke-token NAME ID  (the ID from hotline user tokens NAME)"}
		}
		if err := st.RevokeToken(ctx, pos[0], pos[1]); err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		fmt.Fprintf(stdout, "revoked API token %s of %s\n", pos[1], pos[0])
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tGRID\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Grid, u.Created.In(intake.Beijing).Format("2006-01-02"))
		}
		tw.Flush()
	case "passwd":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline user passwd NAME  (the new password on stdin)"}
		}
		hash, err := readPassword(pos[0], stdin, stderr)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, pos[0], hash); err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions are ended\n", pos[0])
	case "revoke":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline user revoke NAME"}
		}
		n, err := st.RevokeAccess(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		fmt.Fprintf(stdout, "ended %d sessions and API tokens of %s\n", n, pos[0])
	case "unlock":
		if len(pos) != 1 {
			return exitError{code: 2, msg: "usage: hotline user unlock NAME"}
		}
		until, err := st.LoginLockedUntil(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		if err := st.LoginSucceeded(ctx, pos[0]); err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		if until.After(time.Now()) {
			fmt.Fprintf(stdout, "%s was locked until %s; unlocked, its failed logins forgotten\n", pos[0], until.In(intake.Beijing).Format("2006-01-02 15:04:05"))
		} else {
			fmt.Fprintf(stdout, "%s was not locked; its failed logins forgotten\n", pos[0])
		}
	default:
		return exitError{code: 2, msg: userUsage}
	}
	return nil
}

const userUsage = "usage: hotline user add|passwd|token|tokens|revoke-token|revoke|unlock|list ..."

// defaultTokenTTL is how long a new API token works unless --ttl says otherwise: 90 days.
const defaultTokenTTL = 90 * 24 * time.Hour

// tokenTime is how token times are shown, in Beijing time.
const tokenTime = "2006-01-02 15:04"

// readPassword asks for a password on stdin and hashes it.
func readPassword(name string, stdin io.Reader, stderr io.Writer) (string, error) {
	fmt.Fprintf(stderr, "password for %s (at least %d characters, not a common one): ", name, web.MinPasswordLength)
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && password != "") {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprintln(stderr)
	hash, err := web.HashPassword(strings.TrimRight(password, "\r\n"))
	if err != nil {
		return "", exitError{code: 2, msg: err.Error()}
	}
	return hash, nil
}

// checkUser validates a new account: a known role, a name, and for a grid worker a grid of the
// guide.
func checkUser(u *intake.User, guideDir string) error {
	if strings.TrimSpace(u.Name) == "" || strings.ContainsAny(u.Name, " \t\n") {
		return errors.New("user name: non-empty, no spaces")
	}
	if !u.Role.Valid() {
		return fmt.Errorf("--role: want operator, manager, admin or grid_worker, not %q", u.Role)
	}
	if (u.Role == intake.RoleGridWorker) != (u.Grid != "") {
		return errors.New("--grid: required for a grid_worker, and only for one")
	}
	if u.Grid != "" {
		g, _, err := loadGuide(guideDir)
		if err != nil {
			return err
		}
		for _, c := range g.Communities() {
			if _, ok := c.Grid(u.Grid); ok {
				return nil
			}
		}
		return fmt.Errorf("--grid: no grid %q in the guide", u.Grid)
	}
	return nil
}
