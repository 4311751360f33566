//go:build !nowait_invariants

package queue

func pushPause() {}
