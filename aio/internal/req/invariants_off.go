//go:build !nowait_invariants

package req

const invariantsOn = false
