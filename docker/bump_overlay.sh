#!/usr/bin/env bash
# Point the env overlay at the images just pushed (`kustomize edit set image`) and commit it
# to the branch the workflow ran on; Argo CD then syncs the new tags. No commit when the
# overlay already names these tags. A push that loses a race is retried on the new head.
# Environment: OVERLAY IMAGES ENV_NAME BRANCH GITHUB_TOKEN GITHUB_REPOSITORY [CORRELATION_ID].
set -euo pipefail
: "${OVERLAY:?}" "${IMAGES:?}" "${ENV_NAME:?}" "${BRANCH:?}" "${GITHUB_TOKEN:?}"
command -v kustomize >/dev/null || { echo "::error title=bump::kustomize is not on this runner"; exit 1; }

basic=$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 -w0)
echo "::add-mask::${basic}"
auth=(-c "http.https://github.com/.extraheader=AUTHORIZATION: basic ${basic}")
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"

read -r -a images <<<"$IMAGES"
for attempt in 1 2 3; do
  (cd "$OVERLAY" && for image in "${images[@]}"; do kustomize edit set image "$image"; done)
  if git diff --quiet -- "$OVERLAY"; then
    echo "${OVERLAY} already names these images: nothing to commit"
    exit 0
  fi
  git commit -q -m "images(${ENV_NAME}): ${IMAGES}" -m "correlation: ${CORRELATION_ID:-push ${GITHUB_SHA:-}}" -- "$OVERLAY"
  if git "${auth[@]}" push origin "HEAD:${BRANCH}"; then
    echo "bumped ${OVERLAY} on ${BRANCH} (attempt ${attempt})"
    exit 0
  fi
  echo "push lost a race; retrying on the new head of ${BRANCH}"
  git "${auth[@]}" fetch -q --depth=1 origin "$BRANCH"
  git reset -q --hard FETCH_HEAD
done
echo "::error title=bump::could not push the overlay bump to ${BRANCH} after 3 attempts"
exit 1
