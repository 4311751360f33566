package engine

import (
	"errors"
	"fmt"
)

var errUnarmed = errors.New("engine: slot not armed")

// assertNil checks an error that only a bug in the runtime makes (a pool
// buffer given back twice, a CQE for a slot not in flight): with -tags
// nowait_invariants it panics naming what; otherwise it compiles away.
func assertNil(err error, what string) {
	if invariantsOn && err != nil {
		panic(fmt.Sprintf("aio: invariant broken: %s: %v", what, err))
	}
}
