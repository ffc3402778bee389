#!/usr/bin/env bash
# The steps of the osaccess GitHub Action (action.yml), runnable anywhere: the integration tests
# run it against the sandbox. Reads OSACCESS_MODE (plan, apply, validate), OSACCESS_PATHS,
# OSACCESS_FORMAT, OSACCESS_PLAN_FILE, OSACCESS_PARALLEL, OSACCESS_DETAILED_EXITCODE,
# OSACCESS_COMMENT, OSACCESS_AUDIT_LOG, OSACCESS_REGION, and GitHub's GITHUB_STEP_SUMMARY,
# GITHUB_OUTPUT, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
osaccess=${OSACCESS_BIN:-osaccess}
mode=${OSACCESS_MODE:-plan}
read -r -a paths <<<"${OSACCESS_PATHS:-mappings/}"
plan_file=${OSACCESS_PLAN_FILE:-osaccess-plan.json}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
outputs=${GITHUB_OUTPUT:-/dev/null}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
region=()
[ -n "${OSACCESS_REGION:-}" ] && region=(--region "$OSACCESS_REGION")

output() { echo "$1=$2" >>"$outputs"; }

case "$mode" in
  validate)
    status=0
    "$osaccess" validate "${paths[@]}" 2>"$work/err" || status=$?
    cat "$work/err" >&2
    { echo "### osaccess validate"; echo; echo '```'; cat "$work/err"; echo '```'; } >>"$summary"
    output exit-code "$status"
    exit "$status"
    ;;
  plan)
    status=0
    "$osaccess" plan "${paths[@]}" --format "${OSACCESS_FORMAT:-markdown}" --detailed-exitcode \
      --out "$plan_file" --parallel "${OSACCESS_PARALLEL:-8}" "${region[@]}" >"$work/plan" || status=$?
    output exit-code "$status"
    output drift "$([ "$status" = 2 ] && echo true || echo false)"
    {
      echo "<!-- osaccess-plan -->"
      if [ "${OSACCESS_FORMAT:-markdown}" = markdown ]; then cat "$work/plan"; else echo '```'; cat "$work/plan"; echo '```'; fi
      case "$status" in
        0) echo; echo "No changes." ;;
        2) echo; echo "Apply this plan on merge: \`osaccess apply --plan $plan_file\`." ;;
        *) echo; echo "**osaccess plan failed (exit $status)**: see the job log." ;;
      esac
    } >"$work/comment.md"
    cat "$work/comment.md" >>"$summary"
    cat "$work/plan"
    if [ "${OSACCESS_COMMENT:-true}" = true ]; then
      python3 "$here/action-comment.py" "$work/comment.md" || echo "warning: could not comment the plan on the pull request" >&2
    fi
    if [ "$status" = 2 ] && [ "${OSACCESS_DETAILED_EXITCODE:-true}" != true ]; then exit 0; fi
    exit "$status"
    ;;
  apply)
    status=0
    "$osaccess" apply --plan "$plan_file" --yes --audit-log "${OSACCESS_AUDIT_LOG:-osaccess-audit.jsonl}" "${region[@]}" \
      >"$work/out" 2>"$work/err" || status=$?
    cat "$work/out"; cat "$work/err" >&2
    { echo "### osaccess apply"; echo; echo '```'; cat "$work/out" "$work/err"; echo '```'; } >>"$summary"
    output exit-code "$status"
    exit "$status"
    ;;
  *)
    echo "osaccess action: mode must be plan, apply or validate (not '$mode')" >&2
    exit 64
    ;;
esac
