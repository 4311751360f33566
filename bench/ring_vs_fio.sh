#!/usr/bin/env bash
# ring_vs_fio.sh: the bare ring (ring/ BenchmarkRandRead4K) against fio's
# io_uring engine, on the same 1 GiB file, interleaved (ring, fio, ring,
# fio, ...), 4 KiB O_DIRECT random reads. Prints each run, the medians and
# the ratio ring/fio, for plain submission and for registered files+buffers.
#
#   bench/ring_vs_fio.sh                     # qd 32, 3 repeats of 6 s each
#   QD=1 REPEAT=5 RUNTIME=8 bench/ring_vs_fio.sh
#
# Installs fio (Debian package) when it is missing. The file is written in
# ${TMPDIR:-/tmp}, which must be on a filesystem with O_DIRECT (not tmpfs),
# and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

QD=${QD:-32}
REPEAT=${REPEAT:-3}
RUNTIME=${RUNTIME:-6}

if ! command -v fio >/dev/null; then
  echo "fio not found: installing the Debian package" >&2
  apt-get update -qq && apt-get install -y -qq fio >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nowait-ring-vs-fio.XXXXXX")
trap 'rm -rf "$work"' EXIT
file=$work/randread-1g

echo "writing 1 GiB of random data to $file" >&2
fio --name=fill --filename="$file" --rw=write --bs=1M --size=1G --direct=1 \
  --refill_buffers --minimal >/dev/null
go test -c -o "$work/ring.test" ./ring

# ring_iops VARIANT: IOPS of one run of the Go benchmark.
ring_iops() {
  NOWAIT_BENCH_FILE=$file "$work/ring.test" -test.run '^$' \
    -test.bench "^BenchmarkRandRead4K\$/^qd=${QD}$1\$" -test.benchtime="${RUNTIME}s" |
    awk '/iops/ { for (i = 2; i <= NF; i++) if ($i == "iops") print int($(i-1)) }'
}

# fio_iops EXTRA...: IOPS of one fio run (terse format, field 8 is read IOPS).
fio_iops() {
  fio --name=randread --filename="$file" --rw=randread --bs=4k --size=1G \
    --iodepth="$QD" --ioengine=io_uring --direct=1 --norandommap --randrepeat=0 \
    --runtime="$RUNTIME" --time_based --minimal "$@" | awk -F';' '{ print $8 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

compare() {
  local label=$1 variant=$2; shift 2
  local r f rs=() fs=()
  for i in $(seq "$REPEAT"); do
    r=$(ring_iops "$variant"); f=$(fio_iops "$@")
    echo "  $label run $i: ring $r IOPS, fio $f IOPS" >&2
    rs+=("$r"); fs+=("$f")
  done
  r=$(printf '%s\n' "${rs[@]}" | median)
  f=$(printf '%s\n' "${fs[@]}" | median)
  printf '%-28s qd=%-3s ring %8s IOPS   fio %8s IOPS   ring/fio %s\n' "$label" "$QD" "$r" "$f" \
    "$(awk -v a="$r" -v b="$f" 'BEGIN { printf "%.2f", a / b }')"
}

echo "kernel $(uname -r), $(nproc) cores, $(date -u +%Y-%m-%d)"
compare "plain" ""
if [ "$QD" -gt 1 ]; then
  compare "fixed files + buffers" "-fixed" --fixedbufs --registerfiles
fi
