package aio

import (
	"sync"
	"testing"
	"time"
)

// TestLifetime: close waits for every user acquired before it, refuses
// acquires after it, wakes exactly once, and a second close says so.
func TestLifetime(t *testing.T) {
	var l lifetime
	l.init()
	if !l.acquire(2) {
		t.Fatal("acquire before close refused")
	}
	if !l.close() || l.close() {
		t.Fatal("close: want true, then false")
	}
	if l.acquire(1) {
		t.Fatal("acquire after close accepted")
	}
	waited := make(chan struct{})
	go func() { l.wait(); close(waited) }()
	l.release()
	select {
	case <-waited:
		t.Fatal("wait returned with a user left")
	case <-time.After(20 * time.Millisecond):
	}
	l.release()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the last release")
	}

	// Many users racing a close: the closer always wakes, once.
	for range 200 {
		var m lifetime
		m.init()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m.acquire(1) {
					m.release()
				}
			}()
		}
		m.close()
		m.wait()
		wg.Wait()
	}
}
