// Package bench is the benchmark harness behind cmd/iobench: fio's jobs
// (read from fio job files or set option by option), run on this
// project's runtime (aio), the pread/pwrite baseline (psync), the bare
// ring and fio itself, side by side, with fio's meanings: jobs between
// stonewalls at once, files laid out and named as fio does, verify that
// knows each block's last write, and the queues submitting and reaping in
// fio's batches (one I/O at a time by default). One queue loop (queue.go)
// serves every Go engine; a stall meter in a process of its own
// (stalls.go) counts the machine's stops beside every run; results print
// as a table, markdown, fio's JSON, or a plot.
// ring_vs_fio.sh compares the bare ring with fio's io_uring engine.
package bench
