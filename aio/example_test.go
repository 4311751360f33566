package aio_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/nowaitio/nowait/aio"
)

// ExampleRuntime opens a file, writes and reads it through a Context (the
// io_submit / io_getevents model), and uses the blocking File methods.
func ExampleRuntime() {
	rt, err := aio.New(aio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	dir, _ := os.MkdirTemp("", "nowait-example")
	defer os.RemoveAll(dir)
	f, err := rt.Open(filepath.Join(dir, "db"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		log.Fatal(err)
	}

	// Many I/Os in flight from one goroutine: Submit never blocks.
	ctx, err := rt.NewContext(64)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	page := aio.AlignedBuffer(4096) // aligned: no bounce copy
	copy(page, "hello, nowait")
	cbs := []*aio.IOCB{
		{Op: aio.OpWrite, File: f, Buf: page, Offset: 0, UserData: 1},
		{Op: aio.OpWrite, File: f, Buf: []byte("any offset, any length"), Offset: 5000, UserData: 2},
		{Op: aio.OpFdatasync, File: f, Flags: aio.FlagBarrier, UserData: 3}, // after both writes
	}
	if _, err := ctx.Submit(cbs...); err != nil {
		log.Fatal(err)
	}
	events := make([]aio.Event, len(cbs))
	for done := 0; done < len(cbs); {
		n, err := ctx.GetEvents(1, events, time.Second)
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range events[:n] {
			if ev.Err != nil {
				log.Fatal(ev.Err)
			}
		}
		done += n
	}

	// The blocking methods are io.ReaderAt and io.WriterAt.
	buf := make([]byte, 13)
	if _, err := f.ReadAt(buf, 0); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, size %d\n", buf, f.Size())
	if err := f.Sync(); err != nil { // data and the exact size durable
		log.Fatal(err)
	}
	// Output: hello, nowait, size 5022
}
