package web

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Bus carries the desk's messages between the nodes that serve one database: a frame for a
// resident's chat (on whichever node the resident is connected), a frame for every console, and
// "the desk changed" (each node then sends its consoles a fresh snapshot). Publish must reach
// every node, this one included, through the deliver function its Listen was given; a message
// published while a node was not listening may be lost (frames are live news: what matters is
// stored, and the consoles get a full snapshot with the next change).
//
// Without a bus (Config.Bus nil) messages go straight to this node's own chats and consoles: one
// node needs nothing more. intake/postgres has a Bus on PostgreSQL's LISTEN/NOTIFY.
type Bus interface {
	Publish(ctx context.Context, payload []byte) error
	// Listen calls listening once it listens (from then on nothing published is missed), then
	// deliver for every payload published, until ctx ends or the bus fails. It calls listening
	// on its own goroutine, before it returns: RunBus's retry delay starts over then.
	Listen(ctx context.Context, listening func(), deliver func(payload []byte)) error
}

// Retrying the bus: the first retry comes soon, later ones at most busRetryMax apart, so that a
// desk is deaf for at most about busRetryMax after the database is back (a refused connection a
// second per node is nothing to a database); once a Listen has listened, the delay starts over.
// A failure is logged at once, then at most every busLogEvery while it lasts.
const (
	busRetryFirst = 250 * time.Millisecond
	busRetryMax   = time.Second
	busLogEvery   = 30 * time.Second
)

// errNotDelivered is a frame for a resident that the bus could not publish and that no chat of
// this node took: if the resident is connected to another node, they did not get it.
var errNotDelivered = errors.New("desk: the bus between nodes is down: not delivered")

// deskMessage is what travels on the bus.
type deskMessage struct {
	To           string          `json:"to"` // "resident", "operators", "state", "guide" or "presence"
	Conversation string          `json:"conv,omitempty"`
	Frame        json.RawMessage `json:"frame,omitempty"`
}

const (
	toResident  = "resident"
	toOperators = "operators"
	toState     = "state"
	// toGuide: a new version of the guide was published; each node loads the current one
	// (guide.go). It carries nothing: the version is read from the database.
	toGuide = "guide"
	// toPresence: how many consoles a node has (presence.go).
	toPresence = "presence"
)

// toResident sends v to the resident's chat of conversation id, on whichever node it is open. It
// returns errNotDelivered when the bus failed and no chat of the conversation is open here: what
// was stored reaches the resident when their widget comes back, but not now, and an operator
// must not be told it was sent.
func (s *Server) toResident(id string, v any) error { return s.publish(toResident, id, v) }

// toOperators sends v to every console.
func (s *Server) toOperators(v any) { s.publish(toOperators, "", v) }

// broadcastState has every console sent a fresh snapshot of the desk.
func (s *Server) broadcastState() { s.publish(toState, "", nil) }

// publish sends a message to every node; see toResident for its error.
func (s *Server) publish(to, conv string, v any) error {
	if s.bus == nil {
		s.deliverLocal(to, conv, v)
		return nil
	}
	m := deskMessage{To: to, Conversation: conv}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			s.log.Error("desk: encoding a frame", "err", err)
			return nil
		}
		m.Frame = b
	}
	payload, err := json.Marshal(m)
	if err != nil {
		s.log.Error("desk: encoding a message", "err", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	if err := s.bus.Publish(ctx, payload); err != nil {
		// The other nodes miss it; this node's own chats and consoles need not.
		s.log.Error("desk: publishing", "to", to, "err", err)
		if s.deliverLocal(to, conv, json.RawMessage(m.Frame)) == 0 && to == toResident {
			return errNotDelivered
		}
	}
	return nil
}

// deliverLocal hands a message to this node's chats and consoles; for a resident, it returns how
// many of their chats are open here.
func (s *Server) deliverLocal(to, conv string, v any) int {
	switch to {
	case toResident:
		return s.desk.toResident(conv, v)
	case toOperators:
		s.desk.toOperators(v)
	case toState:
		s.requestState()
	case toGuide:
		s.wakeGuide()
	case toPresence:
		if frame, ok := v.(json.RawMessage); ok {
			s.heardPresence(frame)
		}
	}
	return 0
}

// deliver is the bus's deliver function.
func (s *Server) deliver(payload []byte) {
	var m deskMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		s.log.Error("desk: a message from the bus that is not one", "err", err)
		return
	}
	var v any
	if len(m.Frame) > 0 {
		v = m.Frame
	}
	s.deliverLocal(m.To, m.Conversation, v)
}

// RunBus listens on the bus until ctx ends, listening again after any failure: busRetryFirst
// after a Listen that had listened (a database restart ends the connection, and the database is
// likely back by then), and after a delay that grows to busRetryMax while listening keeps failing.
// Without a bus it returns at once.
func (s *Server) RunBus(ctx context.Context) {
	if s.bus == nil {
		return
	}
	if s.desk != nil {
		go s.runPresence(ctx)
	}
	after := s.busAfter
	if after == nil {
		after = time.After
	}
	wait := busRetryFirst
	failures := 0 // in a row, without listening in between
	var lastLog time.Time
	for ctx.Err() == nil {
		err := s.bus.Listen(ctx, func() {
			if failures > 0 {
				s.log.Info("desk: listening on the bus again", "failures", failures)
				if s.desk != nil {
					// Whatever the consoles missed while this node was deaf, a snapshot shows.
					go s.sendState()
				}
				s.wakeGuide() // and a guide version published meanwhile, a look at the database
			}
			go s.announcePresence() // the other nodes answer with theirs
			failures, wait = 0, busRetryFirst
		}, s.deliver)
		if ctx.Err() != nil {
			return
		}
		failures++
		if failures == 1 || time.Since(lastLog) >= busLogEvery {
			s.log.Error("desk: listening on the bus", "err", err, "failures", failures, "again_in", wait)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
		wait = min(2*wait, busRetryMax)
	}
}
