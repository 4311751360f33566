package req

import (
	"sync"
	"testing"
	"time"
)

// TestLifetime: close waits for every user acquired before it, refuses
// acquires after it, wakes exactly once, and a second close says so.
func TestLifetime(t *testing.T) {
	var l Lifetime
	l.Init()
	if !l.Acquire(2) {
		t.Fatal("acquire before close refused")
	}
	if !l.Close() || l.Close() {
		t.Fatal("close: want true, then false")
	}
	if l.Acquire(1) {
		t.Fatal("acquire after close accepted")
	}
	waited := make(chan struct{})
	go func() { l.Wait(); close(waited) }()
	l.Release()
	select {
	case <-waited:
		t.Fatal("wait returned with a user left")
	case <-time.After(20 * time.Millisecond):
	}
	l.Release()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the last release")
	}

	// Many users racing a close: the closer always wakes, once.
	for range 200 {
		var m Lifetime
		m.Init()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m.Acquire(1) {
					m.Release()
				}
			}()
		}
		m.Close()
		m.Wait()
		wg.Wait()
	}
}
