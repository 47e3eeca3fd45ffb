package web

// mountChat mounts GET /ws/chat (see docs/protocol.md).
func (s *Server) mountChat() {}
