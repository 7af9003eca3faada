#!/usr/bin/env bash
# The main job: sets up what it needs, then runs the quickstart demo.
# Extra arguments go to `bmru demo`.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
bmru demo "$@"
