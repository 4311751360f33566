// Package quietlog is a pebble Logger for this module's tests and
// commands: it drops pebble's progress lines (a WAL replayed at every
// reopen, compactions) and keeps its errors, on stderr.
package quietlog

import (
	"fmt"
	"os"
)

// Logger implements pebble's Logger. Owner: none (no state).
type Logger struct{}

func (Logger) Infof(string, ...any) {}

func (Logger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}

func (Logger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
	os.Exit(1)
}
