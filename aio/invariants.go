package aio

import "fmt"

// assertNil checks an error that cannot happen unless the runtime itself
// is wrong: a pool buffer given back twice or not from the pool, or given
// back to a pool already closed (the pool closes only after every I/O is
// reaped). Built with -tags nowait_invariants (CI's race run), it panics
// naming what; otherwise it compiles to nothing, as pebble's invariants do.
func assertNil(err error, what string) {
	if invariantsOn && err != nil {
		panic(fmt.Sprintf("aio: invariant broken: %s: %v", what, err))
	}
}
