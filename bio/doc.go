// Package bio will turn mapped segments into kernel requests: merge, split,
// alignment checks, read-modify-write plans and bounce buffers. Not built
// yet (issue 3); see docs/architecture.md for what exists.
package bio
