//go:build nowait_invariants

package req

// invariantsOn: checks that only a bug in the runtime fails (a request
// settled twice) panic, naming it.
const invariantsOn = true
