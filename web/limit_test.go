package web

import (
	"fmt"
	"testing"
	"time"
)

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

func TestLimiterEvictsOldest(t *testing.T) {
	l := newLimiter(time.Hour, 1)
	l.maxKeys = 3
	for _, a := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if !l.allow(a) {
			t.Fatalf("%s: first request refused", a)
		}
	}
	l.allow("10.0.0.1") // seen again: 10.0.0.2 is now the least recently seen
	if !l.allow("10.0.0.4") {
		t.Fatal("a full limiter refused a new address")
	}
	if len(l.buckets) != 3 || l.lru.Len() != 3 {
		t.Fatalf("%d keys, %d in the list, want 3", len(l.buckets), l.lru.Len())
	}
	if _, ok := l.buckets["10.0.0.2"]; ok {
		t.Error("the least recently seen address was kept")
	}
	if l.allow("10.0.0.1") || l.allow("10.0.0.3") {
		t.Error("an address still in the table got a fresh bucket")
	}
	if !l.allow("10.0.0.2") {
		t.Error("the evicted address starts again with a full bucket")
	}
}

func TestLimiterFullTableAdmitsNewAddress(t *testing.T) {
	l := newLimiter(time.Hour, 1)
	for i := 0; i < maxLimiterKeys+1; i++ {
		l.allow(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
	}
	if len(l.buckets) != maxLimiterKeys {
		t.Fatalf("%d keys, want at most %d", len(l.buckets), maxLimiterKeys)
	}
	if !l.allow("198.51.100.7") {
		t.Error("a full limiter refused a new resident")
	}
}

func TestLimiterIPv6Prefix(t *testing.T) {
	l := newLimiter(time.Hour, 2)
	if !l.allow("2001:db8:1:2::1") || !l.allow("2001:db8:1:2:ffff:ffff:ffff:ffff") {
		t.Fatal("the first two requests of a /64 refused")
	}
	if l.allow("2001:db8:1:2:abcd::9") {
		t.Error("a third address in the same /64 got its own bucket")
	}
	if !l.allow("2001:db8:1:3::1") {
		t.Error("the next /64 shares the bucket")
	}
	if !l.allow("192.0.2.1") || !l.allow("192.0.2.2") || !l.allow("::ffff:192.0.2.3") {
		t.Error("IPv4 addresses share a bucket")
	}
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1",
		"::ffff:192.0.2.1":    "192.0.2.1",
		"2001:db8::1":         "2001:db8::/64",
		"fe80::1%eth0":        "fe80::/64",
		"2001:db8:0:0:1::":    "2001:db8::/64",
		"not an address":      "not an address",
		"2001:db8:aa:bb:cc::": "2001:db8:aa:bb::/64",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
