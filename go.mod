module github.com/nowaitio/nowait

go 1.26.0

require golang.org/x/sys v0.49.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/cespare/xxhash/v2 v2.3.0
	gopkg.in/ini.v1 v1.67.3
)
