#!/usr/bin/env bash
# make county: three loraedge instances of a simulated county network on
# loopback, fed by `loraedge simulate --scenario county`. Ctrl-C stops all.
# Usage: scripts/county.sh BIN DIR ADMIN_TOKEN SPEED [county init flags]
set -euo pipefail
bin=$1 dir=$2 token=$3 speed=$4
shift 4

# The county is written once: a second start keeps its keys, tokens, peer
# table and configs (an instance added by hand stays) as well as the data.
# COUNTY_FRESH=1 writes them afresh, e.g. after changing the init flags.
mkdir -p "$dir"
if [ "${COUNTY_FRESH:-}" = 1 ] || [ ! -f "$dir/peers.yaml" ] || [ ! -f "$dir/init.txt" ]; then
	"$bin" county init "$dir" --force --admin-token "$token" "$@" >"$dir/init.txt" 2>&1 || { cat "$dir/init.txt"; exit 1; }
else
	echo "county: using the configuration in $dir (COUNTY_FRESH=1 writes it afresh)"
fi

pids=()
stop() {
	trap - INT TERM EXIT
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait
	echo "county stopped; data and logs in $dir"
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

names=()
for cfg in "$dir"/*/loraedge.yaml; do
	name=$(basename "$(dirname "$cfg")")
	names+=("$name")
	"$bin" run -c "$cfg" >"$dir/$name.log" 2>&1 &
	pids+=($!)
done
sleep 2
for i in "${!pids[@]}"; do
	if ! kill -0 "${pids[$i]}" 2>/dev/null; then
		echo "loraedge ${names[$i]} did not start:" >&2
		tail -20 "$dir/${names[$i]}.log" >&2
		exit 1
	fi
done

echo
echo "County network of ${#names[@]} loraedge instances running (logs: $dir/NAME.log)."
grep -E '^  |token' "$dir/init.txt"
echo "Look at: the peers tab (Verbund / Peers) of each page, the frame log (\"forwarded to\", \"via\"),"
echo "/metrics (loraedge_roaming_*). Ctrl-C stops everything."
echo
targets=$(sed -n 's/.*--targets //p' "$dir/init.txt")
"$bin" simulate --scenario county --targets "$targets" --speed "$speed" || true
echo "The simulation has ended; the instances keep running until Ctrl-C."
wait
