//go:build race

package aio

// raceEnabled: built with -race, which changes allocation behaviour.
const raceEnabled = true
