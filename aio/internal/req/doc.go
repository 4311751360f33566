// Package req is one submitted IOCB inside the runtime: the Request, the
// ops and flags, and how a request ends (Finish). A Request lives in its
// Context's slot table, so submitting allocates nothing; the router in
// package aio fills it and sends it to the ring engine or to a worker,
// and whichever runs it calls Finish, which counts it and hands it back
// to its Sink (the Context) for GetEvents.
package req
