//go:build !cgo

// Package cabi reports the C layout of the io_uring structs; without cgo it
// has nothing to report.
package cabi

// Available is false: this build has no C compiler.
const Available = false

// Layouts returns nil without cgo.
func Layouts() map[string]uintptr { return nil }

// Constants returns nil without cgo.
func Constants() map[string]uint64 { return nil }
