// Package iomap will map byte ranges of a file to what the kernel can do
// with them without blocking (issue 3). Not built yet; see
// docs/architecture.md for what exists.
package iomap
