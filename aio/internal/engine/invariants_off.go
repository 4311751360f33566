//go:build !nowait_invariants

package engine

const invariantsOn = false
