#!/usr/bin/env bash
# The main job: sets up what it needs, trains the quickstart experiment (the
# paper's binary keyword-spotting task on the sample shipped with the
# package), then sweeps every trained memory cell at transistor level in
# ngspice against its software parameters. Results in runs/quickstart/.
# Extra arguments go to `bmru run` (e.g. --set model.units=4).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
bmru run configs/quickstart.yaml --out runs/quickstart --overwrite "$@"
bmru characterize runs/quickstart --out runs/quickstart/characterization
