//go:build nowait_invariants

package aio

const invariantsOn = true
