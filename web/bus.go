package web

import (
	"context"
	"encoding/json"
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
	// Listen calls deliver for every payload published, until ctx ends or the bus fails.
	Listen(ctx context.Context, deliver func(payload []byte)) error
}

// deskMessage is what travels on the bus.
type deskMessage struct {
	To           string          `json:"to"` // "resident", "operators" or "state"
	Conversation string          `json:"conv,omitempty"`
	Frame        json.RawMessage `json:"frame,omitempty"`
}

const (
	toResident  = "resident"
	toOperators = "operators"
	toState     = "state"
)

// toResident sends v to the resident's chat of conversation id, on whichever node it is open.
func (s *Server) toResident(id string, v any) { s.publish(toResident, id, v) }

// toOperators sends v to every console.
func (s *Server) toOperators(v any) { s.publish(toOperators, "", v) }

// broadcastState has every console sent a fresh snapshot of the desk.
func (s *Server) broadcastState() { s.publish(toState, "", nil) }

func (s *Server) publish(to, conv string, v any) {
	if s.bus == nil {
		s.deliverLocal(to, conv, v)
		return
	}
	m := deskMessage{To: to, Conversation: conv}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			s.log.Error("desk: encoding a frame", "err", err)
			return
		}
		m.Frame = b
	}
	payload, err := json.Marshal(m)
	if err != nil {
		s.log.Error("desk: encoding a message", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	if err := s.bus.Publish(ctx, payload); err != nil {
		// The other nodes miss it; this node's own chats and consoles need not.
		s.log.Error("desk: publishing", "to", to, "err", err)
		s.deliverLocal(to, conv, json.RawMessage(m.Frame))
	}
}

// deliverLocal hands a message to this node's chats and consoles.
func (s *Server) deliverLocal(to, conv string, v any) {
	switch to {
	case toResident:
		s.desk.toResident(conv, v)
	case toOperators:
		s.desk.toOperators(v)
	case toState:
		s.sendState()
	}
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

// RunBus listens on the bus until ctx ends, listening again a moment after any failure. Without
// a bus it returns at once.
func (s *Server) RunBus(ctx context.Context) {
	if s.bus == nil {
		return
	}
	for wait := time.Second; ctx.Err() == nil; {
		err := s.bus.Listen(ctx, s.deliver)
		if ctx.Err() != nil {
			return
		}
		s.log.Error("desk: listening on the bus", "err", err, "again_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
