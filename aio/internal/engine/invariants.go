package engine

import (
	"errors"
	"fmt"
)

var errUnarmed = errors.New("engine: slot not armed")

// assertNil checks an error that cannot happen unless the runtime itself
// is wrong: a pool buffer given back twice or not from the pool, a CQE
// for a slot not in flight. Built with -tags nowait_invariants (CI's race
// run), it panics naming what; otherwise it compiles to nothing, as
// pebble's invariants do.
func assertNil(err error, what string) {
	if invariantsOn && err != nil {
		panic(fmt.Sprintf("aio: invariant broken: %s: %v", what, err))
	}
}
