package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// Staff authentication: a browser logs in with name and password and gets a session cookie
// (HttpOnly, SameSite=Strict) plus a CSRF token that every unsafe request must echo in the
// X-CSRF-Token header; a machine sends "Authorization: Bearer <API token>" and needs no CSRF
// token. Secrets are stored hashed (argon2id for passwords, SHA-256 for random tokens).

const (
	sessionCookie = "hotline_session"
	csrfHeader    = "X-CSRF-Token"
	sessionTTL    = 12 * time.Hour
)

// passwordParams are argon2id's parameters for staff passwords: 19 MiB, two passes, one lane,
// the first of OWASP's recommended settings (Password Storage Cheat Sheet). A hash holds its
// memory while it runs, so what a flood of logins can take is the hash pool's size times this;
// with the library's default, 64 MiB, 40 addresses logging in at once took a node to 315–352 MB;
// with these, 204–233 MB (TestLoginFloodMemory).
// A hash stored with other parameters is replaced at the user's next login (rehash).
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// HashPassword hashes a new password with argon2id, once CheckPassword accepts it.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	return argon2id.CreateHash(password, passwordParams)
}

// stalePasswordHash reports whether hash was made with other parameters than passwordParams.
func stalePasswordHash(hash string) bool {
	p, _, _, err := argon2id.DecodeHash(hash)
	return err == nil && *p != *passwordParams
}

// NewToken returns a random token and the hash to store for it.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how a session or API token is stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// apiToken returns the stored API token of a secret: ErrNotFound when it is unknown, revoked or
// past its expiry.
func (s *Server) apiToken(ctx context.Context, secret string) (*intake.APIToken, error) {
	t, err := s.users.Token(ctx, HashToken(secret))
	if err != nil {
		return nil, err
	}
	now := s.now()
	if t.Expired(now) {
		return nil, fmt.Errorf("%w: API token %s expired", intake.ErrNotFound, t.ID)
	}
	// The last use, to the hour: one write an hour per token, not one a request.
	if now.Sub(t.LastUsed) >= time.Hour {
		if err := s.users.TouchToken(ctx, t.TokenHash, now); err != nil && !errors.Is(err, intake.ErrNotFound) {
			s.log.Warn("recording an API token's use", "token", t.ID, "err", err)
		}
	}
	return t, nil
}

type ctxKey int

const userKey ctxKey = iota

// staffUser returns the authenticated staff member of a request that went through staff.
func staffUser(r *http.Request) *intake.User {
	u, _ := r.Context().Value(userKey).(*intake.User)
	return u
}

// authenticate finds the staff member behind a request: an API token, or a session cookie (then
// with its session, for the CSRF check).
func (s *Server) authenticate(r *http.Request) (*intake.User, *intake.Session, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, nil, intake.ErrNotFound
		}
		t, err := s.apiToken(ctx, strings.TrimSpace(token))
		if err != nil {
			return nil, nil, err
		}
		u, err := s.users.User(ctx, t.User)
		return u, nil, err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil, intake.ErrNotFound
	}
	sess, err := s.users.Session(ctx, HashToken(c.Value), s.now())
	if err != nil {
		return nil, nil, err
	}
	u, err := s.users.User(ctx, sess.User)
	return u, sess, err
}

// staff wraps h so that only staff in one of roles reach it: anonymous → 401, another role → 403,
// a cookie session writing without its CSRF token → 403.
func (s *Server) staff(h http.HandlerFunc, roles ...intake.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := s.authenticate(r)
		if err != nil {
			if errors.Is(err, intake.ErrNotFound) {
				writeError(w, http.StatusUnauthorized, "unauthorized", i18n.Both("error.login_required"))
				return
			}
			s.internal(w, "authenticate", err)
			return
		}
		if !hasRole(u, roles) {
			writeError(w, http.StatusForbidden, "forbidden", i18n.Both("error.forbidden"))
			return
		}
		if sess != nil && !safeMethod(r.Method) {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
				writeError(w, http.StatusForbidden, "csrf", "missing or wrong "+csrfHeader+" header")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
	}
}

func hasRole(u *intake.User, roles []intake.Role) bool {
	if u.Role == intake.RoleAdmin {
		return true
	}
	for _, r := range roles {
		if u.Role == r {
			return true
		}
	}
	return false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type loginResponse struct {
	Name string      `json:"name"`
	Role intake.Role `json:"role"`
	Grid string      `json:"grid,omitempty"`
	CSRF string      `json:"csrf"`
}

// dummyHash makes a login with an unknown name cost as much as one with a wrong password.
var dummyHash, _ = argon2id.CreateHash("not a real password", passwordParams)

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.loginRequestAllowed(w, r) {
		return
	}
	ip := clientIP(r)
	if !s.loginLimit.allow(ip) {
		tooMany(w)
		return
	}
	var req loginRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Name == "" { // no account has an empty name, and the store counts no failures for it
		writeError(w, http.StatusUnauthorized, "bad_credentials", i18n.Both("error.bad_credentials"))
		return
	}
	until, err := s.users.LoginLockedUntil(r.Context(), req.Name)
	if err != nil {
		s.internal(w, "login", err)
		return
	}
	if d := until.Sub(s.now()); d > 0 {
		s.log.Warn("staff login refused: account locked", "user", logName(req.Name), "client", ip, "seconds", int(d.Seconds()))
		retryAfter(w, d)
		writeError(w, http.StatusTooManyRequests, "locked", i18n.Both("error.rate_limited"))
		return
	}
	u, err := s.users.User(r.Context(), req.Name)
	hash := dummyHash
	if err == nil {
		hash = u.PasswordHash
	} else if !errors.Is(err, intake.ErrNotFound) {
		s.internal(w, "login", err)
		return
	}
	// An unknown name costs the same hash as a known one, through the same pool.
	var ok bool
	var cerr error
	if perr := s.hashes.do(r.Context(), func() { ok, cerr = argon2id.ComparePasswordAndHash(req.Password, hash) }); perr != nil {
		if errors.Is(perr, errHashBusy) {
			retryAfter(w, time.Second)
			writeError(w, http.StatusServiceUnavailable, "busy", i18n.Both("error.rate_limited"))
		}
		return
	}
	if err != nil || cerr != nil || !ok {
		known := err == nil
		fails, ferr := s.users.LoginFailed(r.Context(), req.Name, s.now(), lockFor)
		if ferr != nil { // an uncounted failure would be a free guess: refuse instead
			s.internal(w, "login", ferr)
			return
		}
		s.log.Warn("staff login failed", "user", logName(req.Name), "known", known, "client", ip,
			"failures", fails, "locked_seconds", int(lockFor(fails).Seconds()))
		writeError(w, http.StatusUnauthorized, "bad_credentials", i18n.Both("error.bad_credentials"))
		return
	}
	if err := s.users.LoginSucceeded(r.Context(), req.Name); err != nil {
		s.internal(w, "login", err)
		return
	}
	s.rehash(r.Context(), u, req.Password)
	token, hashed := NewToken()
	csrf, _ := NewToken()
	sess := intake.Session{TokenHash: hashed, User: u.Name, CSRF: csrf, Expires: s.now().Add(sessionTTL)}
	if err := s.users.AddSession(r.Context(), sess); err != nil {
		s.internal(w, "login", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: isHTTPS(r),
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires,
	})
	s.log.Info("staff login", "user", u.Name, "role", u.Role)
	writeJSON(w, http.StatusOK, loginResponse{Name: u.Name, Role: u.Role, Grid: u.Grid, CSRF: csrf})
}

// rehash stores the password, just checked, hashed with passwordParams when its stored hash has
// older ones. Best effort: a failure is logged and the old hash keeps working.
func (s *Server) rehash(ctx context.Context, u *intake.User, password string) {
	if !stalePasswordHash(u.PasswordHash) {
		return
	}
	var hash string
	var err error
	if perr := s.hashes.do(ctx, func() { hash, err = argon2id.CreateHash(password, passwordParams) }); perr != nil {
		return // busy: next login
	}
	if err == nil {
		_, err = s.users.RehashPassword(ctx, u.Name, u.PasswordHash, hash)
	}
	if err != nil {
		s.log.Warn("password rehash failed", "user", u.Name, "err", err)
		return
	}
	s.log.Info("password rehashed with current parameters", "user", u.Name)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.users.DeleteSession(r.Context(), HashToken(c.Value)); err != nil && !errors.Is(err, intake.ErrNotFound) {
			s.internal(w, "logout", err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u := staffUser(r)
	resp := loginResponse{Name: u.Name, Role: u.Role, Grid: u.Grid}
	if _, sess, err := s.authenticate(r); err == nil && sess != nil {
		resp.CSRF = sess.CSRF
	}
	writeJSON(w, http.StatusOK, resp)
}
