package web

import "time"

// HashPeak is the most password hashes s has run at once.
func (s *Server) HashPeak() int64 { return s.hashes.peak.Load() }

// LoginHashes is how many password hashes may run at once.
var LoginHashes = loginHashes

// The per-address ceilings (limit.go).
const (
	TicketIPBurst = ticketIPBurst
	LookupIPBurst = lookupIPBurst
	ChatConvBurst = chatConvBurst
)

// SetBusAfter has RunBus wait for its retries on after instead of time.After; call it before
// RunBus.
func (s *Server) SetBusAfter(after func(time.Duration) <-chan time.Time) { s.busAfter = after }
