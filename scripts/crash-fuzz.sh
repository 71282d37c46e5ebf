#!/usr/bin/env bash
# The crash and fuzz suite: SIGKILL of the daemon under load (200 clients, 10 kills in about a
# minute), API fuzzing from the OpenAPI document as every role and anonymously, command-line
# fuzzing, and daemon limits (idle connections, a slow-loris, a 100 MB body). Each part prints
# its counts; the seed is printed too (IVM_FUZZ_SEED=N repeats a run). Bounded: about 3
# minutes here. Run as root on a machine prepared by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec timeout 1200 cargo test -p ivm --locked --test crash_fuzz -- --nocapture --test-threads=1
