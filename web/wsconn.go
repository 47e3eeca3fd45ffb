package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// outFrame is one frame for the writer: a text frame, or a control frame (a ping or a pong).
type outFrame struct {
	control int // 0 for a text frame, else websocket.PingMessage or PongMessage
	data    []byte
}

// wsConn is the machinery of one WebSocket connection, resident or operator: one reader, a
// writer only while there is something to send, a bounded queue, pings and the idle deadline.
type wsConn struct {
	ws     *websocket.Conn
	log    *slog.Logger
	kind   string        // "chat" or "operator", for the log
	idle   time.Duration // the read deadline, refreshed by any frame or pong
	opened time.Time

	mu        sync.Mutex
	pinger    *time.Timer
	out       []outFrame // queued for the writer, at most chatQueue
	writing   bool       // a writer goroutine is running (it alone writes data frames)
	closed    bool       // closing has started: nothing more is queued
	closeCode int        // the close frame the writer sends; 0: none
	closeText string

	// oversize answers a frame longer than chatMaxFrame (but within chatDrainLimit) with the
	// message id read from its start, if any; the connection stays open. Nil: closed, 1009.
	oversize func(id string)

	closing    atomic.Bool   // closed, for the reader without the lock
	readerDone chan struct{} // closed when the reader has stopped
	finished   chan struct{} // closed when the writer has sent the close frame and let go
}

func newWSConn(ws *websocket.Conn, log *slog.Logger, kind string, idle time.Duration) wsConn {
	return wsConn{ws: ws, log: log, kind: kind, idle: idle, opened: time.Now(),
		readerDone: make(chan struct{}), finished: make(chan struct{})}
}

// closeWith starts closing the connection with a close frame (code 0: none). The first reason
// wins. The writer — the running one, or one started here — finishes the connection.
func (c *wsConn) closeWith(code int, text string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeCode, c.closeText = true, code, text
	c.closing.Store(true)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// serve reads frames and hands each to handle until the connection closes, waits for the writer
// to finish, and returns the close code sent (0: none).
func (c *wsConn) serve(handle func(mt int, data []byte)) int {
	c.mu.Lock()
	c.pinger = time.AfterFunc(c.idle/4, c.ping)
	c.mu.Unlock()
	c.readLoop(handle)
	c.mu.Lock()
	c.pinger.Stop()
	c.mu.Unlock()
	close(c.readerDone)
	c.closeWith(0, "") // the client left, or the reader stopped: nothing more to say
	<-c.finished
	c.ws.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

// ping queues a ping and arms the next one; the client's pong refreshes the read deadline.
func (c *wsConn) ping() {
	if c.closing.Load() {
		return
	}
	c.queue(outFrame{control: websocket.PingMessage})
	c.mu.Lock()
	if !c.closed {
		c.pinger.Reset(c.idle / 4)
	}
	c.mu.Unlock()
}

func (c *wsConn) readLoop(handle func(mt int, data []byte)) {
	limit := int64(chatMaxFrame)
	if c.oversize != nil {
		limit = chatDrainLimit
	}
	c.ws.SetReadLimit(limit)
	c.refresh()
	c.ws.SetPongHandler(func(string) error { c.refresh(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		c.refresh()
		c.queue(outFrame{control: websocket.PongMessage, data: []byte(data)})
		return nil
	})
	for {
		mt, data, err := c.readFrame()
		if errors.Is(err, errOversize) {
			c.refresh()
			if !c.closing.Load() {
				c.oversize(frameID(data))
			}
			continue
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				// The websocket library has sent the close frame (1009) itself.
				c.closeWith(websocket.CloseMessageTooBig, "too_large")
			case errors.As(err, &ne) && ne.Timeout() && !c.closing.Load():
				c.closeWith(websocket.CloseGoingAway, "idle")
			}
			return
		}
		if c.closing.Load() {
			continue // closing: waiting for the client's close frame, ignoring the rest
		}
		c.refresh()
		onOwnStack(func() { handle(mt, data) })
	}
}

// onOwnStack runs fn on another goroutine and waits for it to return. A connection's reader spends
// nearly all its life waiting for the next frame, and a goroutine keeps a stack as large as the
// deepest call it has made (a collection halves it only when less than a quarter is in use):
// answering a frame (its JSON, the bot, the store) goes several times deeper than waiting does,
// and every idle resident's reader would keep that much. This way it keeps what waiting needs.
// The goroutines that answer are kept a while for the next frames (frameWorkers): a new one would
// grow its stack again at every frame (BenchmarkOnOwnStack: 4.8 µs a frame, kept ones 0.7 µs).
func onOwnStack(fn func()) {
	done := make(chan struct{})
	frameWorkers.run(func() {
		defer close(done)
		fn()
	})
	<-done
}

// frameWorkers answers the frames of every connection.
var frameWorkers = &workers{jobs: make(chan func()), idle: 30 * time.Second}

// workers runs jobs on goroutines that wait for the next job for a while after one, then end:
// as many as jobs run at once under load, none when the service is quiet.
type workers struct {
	jobs chan func()
	idle time.Duration
	live atomic.Int64 // goroutines running or waiting
}

// run starts job on a waiting goroutine, or a new one when none waits. It does not wait for job.
func (w *workers) run(job func()) {
	select {
	case w.jobs <- job:
	default:
		w.live.Add(1)
		go w.work(job)
	}
}

func (w *workers) work(job func()) {
	defer w.live.Add(-1)
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		job()
		t.Reset(w.idle)
		select {
		case job = <-w.jobs:
		case <-t.C:
			return
		}
	}
}

// errOversize is readFrame's frame over chatMaxFrame: read to its end and dropped.
var errOversize = errors.New("frame over the size limit")

// readFrame reads the next data frame. A frame longer than chatMaxFrame is read to its
// end (up to the connection's read limit, chatDrainLimit, beyond which the library closes it with
// 1009) and dropped: the first chatMaxFrame bytes come back with errOversize.
func (c *wsConn) readFrame() (int, []byte, error) {
	mt, r, err := c.ws.NextReader()
	if err != nil {
		return mt, nil, err
	}
	w := bytes.NewBuffer(make([]byte, 0, 512))
	if _, err := io.CopyN(w, r, chatMaxFrame+1); err != nil && err != io.EOF {
		return mt, nil, err
	}
	if w.Len() <= chatMaxFrame {
		return mt, w.Bytes(), nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return mt, nil, err
	}
	return mt, w.Bytes()[:chatMaxFrame], errOversize
}

// frameID is the "id" of a JSON frame cut short, when it comes before the cut: the message an
// oversize error answers.
func frameID(prefix []byte) string {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		key, ok := k.(string)
		if !ok {
			return ""
		}
		if key == "id" {
			var id string
			if dec.Decode(&id) != nil || len(id) > chatMaxID {
				return ""
			}
			return id
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
}

// refresh pushes the read deadline back: any frame or pong shows the client is there.
func (c *wsConn) refresh() {
	if !c.closing.Load() {
		c.ws.SetReadDeadline(time.Now().Add(c.idle))
	}
}

// queue hands a frame to the writer without waiting, starting one if none runs: a full queue
// means the client does not read what it is sent, and it is disconnected. The writer makes one
// system call a frame while the reader parses many frames a call, so the queue is long enough
// for a burst of 50 frames to be answered (rate_limited errors, mostly) even if the writer has
// sent none of it yet.
func (c *wsConn) queue(f outFrame) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.out) >= chatQueue {
		c.mu.Unlock()
		c.log.Warn(c.kind+" client too slow", "queued", chatQueue)
		c.closeWith(websocket.ClosePolicyViolation, "too slow")
		return
	}
	c.out = append(c.out, f)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *wsConn) queueJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error(c.kind+": encoding a frame", "err", err)
		return
	}
	c.queue(outFrame{data: b})
}

// next takes the first queued frame. When there is none, or closing has started, the writer
// stops writing frames: ok is false and, unless closing, the writer is marked gone.
func (c *wsConn) next() (f outFrame, closing, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return outFrame{}, true, false
	}
	if len(c.out) == 0 {
		c.writing = false
		c.out = nil // an idle connection keeps no queue
		return outFrame{}, false, false
	}
	f = c.out[0]
	c.out[0] = outFrame{}
	c.out = c.out[1:]
	return f, false, true
}

// writeLoop sends queued frames until the queue is empty, or finishes the connection once
// closing has started. Only one runs at a time (see writing).
func (c *wsConn) writeLoop() {
	for {
		// Closing comes first: a slow client is not sent the rest of its queue.
		f, closing, ok := c.next()
		if closing {
			c.finish()
			return
		}
		if !ok {
			return
		}
		if err := c.write(f, time.Now().Add(chatWriteWait)); err != nil {
			// The connection is broken: nothing more can be said on it.
			c.closeWith(0, "")
			c.ws.Close()
		}
	}
}

func (c *wsConn) write(f outFrame, deadline time.Time) error {
	if f.control != 0 {
		return c.ws.WriteControl(f.control, f.data, deadline)
	}
	c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, f.data)
}

// finish sends what the reason allows — the queued frames (an error frame saying why, a reply
// in flight), then the close frame — waits a little for the client's close frame, and lets the
// reader's run end.
func (c *wsConn) finish() {
	defer close(c.finished)
	c.mu.Lock()
	code, text, rest := c.closeCode, c.closeText, c.out
	c.out = nil
	c.mu.Unlock()
	deadline := time.Now().Add(chatWriteWait)
	switch code {
	case 0, websocket.ClosePolicyViolation:
		// The client left, or does not read: no more frames.
	default:
		for _, f := range rest {
			if c.write(f, deadline) != nil {
				break
			}
		}
	}
	if code != 0 {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline)
	}
	grace := time.NewTimer(chatCloseGrace)
	defer grace.Stop()
	select {
	case <-c.readerDone:
	case <-grace.C:
		c.ws.Close() // the reader stops at once
	}
}
