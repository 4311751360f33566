// Package aio will be nowait's public API: Runtime, File, Context. Not
// built yet (issue 4); see docs/architecture.md for what exists.
package aio
