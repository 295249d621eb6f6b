#!/usr/bin/env bash
# The kyeol command of each job of .github/workflows/kyeol.yml (tests/test_kyeol_workflow.py
# runs this same script against the e2e world):
#   plan   ENV  pull requests: read-only dry-run (no lock, terraform -lock=false); pending
#               changes are the result, not a failure (exit 0 on 0 or 4)
#   drift  ENV  nightly: the same read-only dry-run; exit 4 (drift) fails the job with an error
#   deploy ENV  push to main (dev) or dispatch (stage, prod): the real deploy; prod is confirmed
#               by name, which this script only does inside the job that runs in GitHub
#               environment "prod" (required reviewers)
# Needs KYEOL_STATE (s3://<state bucket>/kyeol/state.json); extra arguments go to kyeol.
set -euo pipefail

mode=${1:?usage: kyeol_job.sh plan|drift|deploy ENV [kyeol options]}
env_name=${2:?usage: kyeol_job.sh plan|drift|deploy ENV [kyeol options]}
shift 2
: "${KYEOL_STATE:?set KYEOL_STATE to s3://<state bucket>/kyeol/state.json}"
case "$env_name" in dev|stage|prod) ;; *) echo "::error title=kyeol::unknown environment $env_name" >&2; exit 2 ;; esac

runs_dir=${KYEOL_RUNS_DIR:-${RUNNER_TEMP:-/tmp}/kyeol-runs}
args=(deploy --env "$env_name" --state "$KYEOL_STATE" --runs-dir "$runs_dir")
case "$mode" in
  plan | drift) args+=(--read-only --detailed-exitcode) ;;
  deploy)
    if [ "$env_name" = prod ]; then
      [ "${KYEOL_DEPLOY_ENVIRONMENT:-}" = prod ] || { echo "::error title=kyeol deploy::prod deploys only from the job in GitHub environment prod" >&2; exit 2; }
      args+=(--confirm-env prod)
    fi
    ;;
  *) echo "::error title=kyeol::unknown mode $mode (plan, drift or deploy)" >&2; exit 2 ;;
esac

set +e
kyeol "${args[@]}" "$@"
code=$?
set -e
case "$mode:$code" in
  plan:0 | plan:4 | drift:0 | deploy:0) exit 0 ;;
  drift:4)
    echo "::error title=kyeol drift ($env_name)::$env_name differs from the code: the job summary names what drifted"
    exit 4
    ;;
esac
exit "$code"
