# Shared by the benchmarks: the best wall time of $RUNS runs and the peak RSS of a command.
# measure LABEL COMMAND...: prints "LABEL: best of N S s, peak K KiB" on stderr and "S K" on stdout.
measure() {
  local label="$1"; shift
  local best="" peak=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" > /dev/null
    read -r secs kb < "$DATA/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  echo "$label: best of $RUNS ${best} s, peak $((peak / 1024)) MiB" >&2
  echo "$best $peak"
}
