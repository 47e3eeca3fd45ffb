package web

import (
	"time"

	"github.com/gorilla/websocket"
)

// A resident's socket must say hello soon after the upgrade, and is closed when it has been
// silent for long: pings and pongs prove a client is there, not that a resident is (see
// docs/protocol.md, "Limits").
const (
	chatHelloWait = 10 * time.Second // Config.ChatHelloWait
	chatSilence   = 30 * time.Minute // Config.ChatSilence
	closeNoHello  = websocket.ClosePolicyViolation
	closeSilent   = websocket.CloseNormalClosure
)

// startLimits arms the hello deadline and the silence limit; stopLimits disarms them.
func (c *chatConn) startLimits() {
	c.active.Store(time.Now().UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.helloTimer = time.AfterFunc(c.s.chatHelloWait, func() {
		if !c.helloed.Load() {
			c.closeWith(closeNoHello, "hello_timeout")
		}
	})
	c.silenceTimer = time.AfterFunc(c.s.chatSilence, c.checkSilence)
}

func (c *chatConn) stopLimits() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.helloTimer.Stop()
	c.silenceTimer.Stop()
}

// checkSilence closes the connection if the resident has done nothing for chatSilence, or looks
// again when that would be.
func (c *chatConn) checkSilence() {
	if c.closing.Load() {
		return
	}
	quiet := time.Since(time.Unix(0, c.active.Load()))
	if quiet >= c.s.chatSilence {
		c.closeWith(closeSilent, "silent")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.silenceTimer.Reset(c.s.chatSilence - quiet)
	}
}

// sawFrame notes, after a frame was handled, whether the conversation has started and whether
// the frame was a resident's doing (ack: an operator's message reached them, in a live chat).
func (c *chatConn) sawFrame(typ string) {
	if c.conv != nil {
		c.helloed.Store(true)
	}
	switch typ {
	case "hello", "ask", "choose", "typing", "ack", "rate", "feedback":
		c.active.Store(time.Now().UnixNano())
	}
}
