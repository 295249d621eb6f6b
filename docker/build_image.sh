#!/usr/bin/env bash
# Build one image of the images.yml matrix and push it to ECR, unless its tag is already
# there (ECR tags are never overwritten, so a re-run of the workflow is a no-op).
# Environment: REGISTRY REPOSITORY TAG KIND IMAGE, plus UPSTREAM (kind=upstream) or
# SOURCE_DIR SCHEMA_FILE API_URL STOREFRONT_URL (kind=source). Credentials come from the OIDC role.
set -euo pipefail
: "${REGISTRY:?}" "${REPOSITORY:?}" "${TAG:?}" "${KIND:?}" "${IMAGE:?}"
ref="${REGISTRY}/${REPOSITORY}:${TAG}"

if out=$(aws ecr describe-images --repository-name "$REPOSITORY" --image-ids "imageTag=${TAG}" 2>&1); then
  echo "${ref} is already in ECR: nothing to build"
  exit 0
elif ! grep -q ImageNotFoundException <<<"$out"; then
  echo "::error title=${IMAGE}::cannot read ECR repository ${REPOSITORY}: ${out}"
  exit 1
fi

labels=(--label "org.opencontainers.image.source=${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-local}"
        --label "org.opencontainers.image.revision=${GITHUB_SHA:-unknown}"
        --label "org.opencontainers.image.version=${TAG}")
case "$KIND" in
  upstream)
    : "${UPSTREAM:?}"
    docker build --pull --platform linux/amd64 "${labels[@]}" \
      --build-arg "UPSTREAM=${UPSTREAM}" -t "$ref" "docker/${IMAGE}"
    ;;
  source)
    # Built with docker/<image>/Dockerfile, codegen from the pinned Saleor release's schema
    # file (SCHEMA_FILE, copied into the context as schema.graphql): the env's API is only a
    # string baked in for the browser, never fetched while building (phase 7 runs before 8).
    : "${SOURCE_DIR:?}" "${SCHEMA_FILE:?}" "${API_URL:?}" "${STOREFRONT_URL:?}"
    cp "$SCHEMA_FILE" "${SOURCE_DIR}/schema.graphql"
    docker build --pull --platform linux/amd64 "${labels[@]}" \
      --build-arg "NEXT_PUBLIC_SALEOR_API_URL=${API_URL}" \
      --build-arg "NEXT_PUBLIC_STOREFRONT_URL=${STOREFRONT_URL}" \
      -f "docker/${IMAGE}/Dockerfile" -t "$ref" "$SOURCE_DIR"
    ;;
  *)
    echo "::error title=${IMAGE}::unknown image kind ${KIND}"
    exit 1
    ;;
esac
docker push "$ref"
echo "pushed ${ref}"
