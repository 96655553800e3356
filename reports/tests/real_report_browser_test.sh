#!/usr/bin/env bash
# Real runs → report.html, junit.xml, index.html → headless Chromium.
#   real_report_browser_test.sh FAULTLINE BROWSER_TEST_MJS OUT_DIR
# An invalid run (dynastore with --lww loses concurrent adds to one key, under
# partitions) and a valid one; the runner writes the pages; `faultline report`
# regenerates them from the stored files; browser_test.mjs checks them in a
# real browser (screenshots land in OUT_DIR).
set -euo pipefail
faultline=$1 browser_test=$2 out=$3
rm -rf "$out"
mkdir -p "$out"
store="$out/store"

code=0
"$faultline" run --name invalid-run --local 3 --time-limit 5 --keys 1 --concurrency 6 --rate 200 --quiesce 1 \
  --nemesis partition --nemesis-interval 1.5 --dynastore-arg=--lww --store-dir "$store" >"$out/invalid.log" 2>&1 || code=$?
if [ "$code" != 1 ]; then echo "expected exit 1 from the --lww run, got $code:"; cat "$out/invalid.log"; exit 1; fi
"$faultline" run --name valid-run --local 3 --time-limit 3 --quiesce 1 --store-dir "$store" >"$out/valid.log" 2>&1 \
  || { echo "the valid run failed:"; cat "$out/valid.log"; exit 1; }
# A partition nemesis whose default interval (10 s) is longer than the run: valid, but no partition was injected,
# which the banner and the index must say (issue 20).
"$faultline" run --name nofault-run --local 3 --time-limit 3 --quiesce 1 --nemesis partition --store-dir "$store" \
  >"$out/nofault.log" 2>&1 || { echo "the no-fault run failed:"; cat "$out/nofault.log"; exit 1; }
grep -q "warning: nemesis partition: no fault can start" "$out/nofault.log" \
  || { echo "no warning before the no-fault run:"; cat "$out/nofault.log"; exit 1; }

for run in invalid-run valid-run nofault-run; do
  for f in report.html junit.xml results.json; do
    [ -s "$store/$run/latest/$f" ] || { echo "the runner did not write $run/latest/$f"; exit 1; }
  done
done
[ -s "$store/index.html" ] || { echo "the runner did not write index.html"; exit 1; }
grep -q '<failure' "$store/invalid-run/latest/junit.xml" || { echo "junit.xml of the invalid run has no <failure>"; exit 1; }

# `faultline report` makes the same page again from the stored files alone.
rm "$store/invalid-run/latest/report.html" "$store/index.html"
"$faultline" report "$store/invalid-run/latest"
"$faultline" report --index --store-dir "$store"

# One browser for the four pages.
node "$browser_test" report "$store/invalid-run/latest/report.html" --expect-verdict invalid \
  --expect-fault-context "acknowledged by n" --screenshot "$out/invalid.png" \
  --and report "$store/valid-run/latest/report.html" --expect-verdict valid --screenshot "$out/valid.png" \
  --and report "$store/nofault-run/latest/report.html" --expect-verdict valid \
  --expect-fault-warning "no partition was injected (interval 10 s ≥ time limit 3 s)" --screenshot "$out/nofault.png" \
  --and index "$store/index.html" --expect-runs 3 --expect-fault-warnings 1 --screenshot "$out/index.png"

# Bad input: one line naming what is wrong, exit 2.
code=0
"$faultline" report "$out/no-such-run" 2>"$out/bad.err" || code=$?
[ "$code" = 2 ] && grep -q "no-such-run is not a run directory" "$out/bad.err" \
  || { echo "faultline report on a missing dir: exit $code, stderr: $(cat "$out/bad.err")"; exit 1; }
echo "real reports checked in the browser; screenshots in $out"
