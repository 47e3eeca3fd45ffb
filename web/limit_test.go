package web

import "testing"

func TestChatIPLimiterConfig(t *testing.T) {
	if (&Server{chatIPPerMinute: -1}).chatIPLimiter() != nil {
		t.Error("a negative rate should mean no per-address limit")
	}
	l := (&Server{chatIPPerMinute: 5}).chatIPLimiter()
	for i := 0; i < 5; i++ {
		if !l.allow("10.0.0.1") {
			t.Fatalf("message %d of a burst of 5 refused", i+1)
		}
	}
	if l.allow("10.0.0.1") {
		t.Error("the 6th message within the minute was allowed")
	}
	if !l.allow("10.0.0.2") {
		t.Error("another address shares the limit")
	}
	if (&Server{}).chatIPLimiter() == nil {
		t.Error("the default must limit")
	}
}
