package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"time"
)

// Consoles on several nodes. A resident connected to one node is told how many operators are on
// duty (the queue's "nobody on duty", the choice between waiting and a ticket), and consoles show
// the count: all the nodes' consoles, not this node's alone. Each node announces on the bus how
// many consoles it has — when one opens or closes, every presenceEvery, and in answer to a node
// it has not heard before — and counts the others' last announcements while they are fresh (a
// node killed without a word stops counting after presenceFresh). Without a bus there is one
// node and nothing to announce.

const (
	presenceEvery = 10 * time.Second
	presenceFresh = 3 * presenceEvery
)

// nodePresence is another node's last announcement.
type nodePresence struct {
	consoles int
	seen     time.Time
}

// presenceFrame is the bus message's frame.
type presenceFrame struct {
	Node     string `json:"node"`
	Consoles int    `json:"consoles"`
}

func newNodeID() string { return rand.Text()[:12] }

// announcePresence tells the other nodes how many consoles this one has.
func (s *Server) announcePresence() {
	if s.bus == nil || s.desk == nil {
		return
	}
	s.publish(toPresence, "", presenceFrame{Node: s.node, Consoles: s.desk.local()})
}

// heardPresence takes another node's announcement: the consoles' count and the queue's frames
// change with it, and a node heard for the first time is told this one's count at once.
func (s *Server) heardPresence(frame json.RawMessage) {
	var p presenceFrame
	if s.desk == nil || json.Unmarshal(frame, &p) != nil || p.Node == "" || p.Node == s.node || p.Consoles < 0 {
		return
	}
	s.desk.mu.Lock()
	if s.desk.remote == nil {
		s.desk.remote = map[string]nodePresence{}
	}
	old, known := s.desk.remote[p.Node]
	s.desk.remote[p.Node] = nodePresence{consoles: p.Consoles, seen: time.Now()}
	s.desk.mu.Unlock()
	if !known {
		go s.announcePresence()
	}
	if !known || old.consoles != p.Consoles {
		s.requestState()
	}
}

// runPresence announces this node's consoles every presenceEvery until ctx ends.
func (s *Server) runPresence(ctx context.Context) {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.announcePresence()
		}
	}
}
