#!/usr/bin/env bash
# Download the function requirements as CPython 3.13 manylinux x86_64 wheels
# into .wheels/ at the repository root, for offline image builds
# (docker build --build-arg WHEELS_DIR=.wheels, see infra/images/Dockerfile).
#
# Downloads run on the host because containers here do not trust the host's
# certificate setup. The script skips the download while .wheels/ matches the
# current requirements file. It compares a SHA-256 stamp of that file and of
# the target platform settings, so set FORCE=1 to download again anyway.
#
# Usage: infra/images/wheels.sh
# Environment:
#   REQUIREMENTS  requirements file (default requirements/function.txt)
#   WHEELS_DIR    output folder (default .wheels), relative to the repository root
#   FORCE=1       download even if the stamp matches
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REQUIREMENTS="${REQUIREMENTS:-requirements/function.txt}"
WHEELS_DIR="${WHEELS_DIR:-.wheels}"
FORCE="${FORCE:-0}"

# Lambda's python3.13 runtime runs on Amazon Linux 2023 (glibc 2.34), and the
# offline base runs on Debian trixie, so manylinux2014 (glibc 2.17) wheels fit both.
PIP_PLATFORM_ARGS=(
    --only-binary=:all:
    --platform manylinux2014_x86_64
    --platform manylinux_2_17_x86_64
    --python-version 3.13
    --implementation cp
)

log() {
    printf '[wheels] %s\n' "$*" >&2
}

cd "$REPO_ROOT"
[[ -f "$REQUIREMENTS" ]] || {
    log "error: requirements file $REPO_ROOT/$REQUIREMENTS not found. Set REQUIREMENTS to its path."
    exit 1
}

stamp_file="$WHEELS_DIR/.requirements.sha256"
current_stamp="$({
    cat "$REQUIREMENTS"
    printf '%s\n' "${PIP_PLATFORM_ARGS[@]}"
} | sha256sum | cut -d' ' -f1)"

if [[ "$FORCE" != "1" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$current_stamp" ]]; then
    log "$WHEELS_DIR is up to date with $REQUIREMENTS, skipping the download (set FORCE=1 to download again)"
    exit 0
fi

# Download into a fresh folder and swap it in at the end, so wheels of
# versions dropped from the requirements do not stay behind, and a failed
# download leaves the previous folder untouched.
staging_dir="$(mktemp -d "$REPO_ROOT/.wheels-staging.XXXXXX")"
trap 'rm -rf "$staging_dir"' EXIT
chmod 0755 "$staging_dir"

log "downloading wheels for $REQUIREMENTS into $WHEELS_DIR"
pip download --quiet --disable-pip-version-check "${PIP_PLATFORM_ARGS[@]}" \
    -d "$staging_dir" -r "$REQUIREMENTS"

# A .gitignore inside the folder keeps the wheels out of git without an entry
# in the repository's own .gitignore.
printf '*\n' >"$staging_dir/.gitignore"
printf '%s\n' "$current_stamp" >"$staging_dir/.requirements.sha256"

rm -rf "$WHEELS_DIR"
mv "$staging_dir" "$WHEELS_DIR"
trap - EXIT

wheel_count="$(find "$WHEELS_DIR" -name '*.whl' | wc -l)"
log "saved $wheel_count wheels ($(du -sh "$WHEELS_DIR" | cut -f1)) in $REPO_ROOT/$WHEELS_DIR"
