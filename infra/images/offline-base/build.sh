#!/usr/bin/env bash
# Build a local stand-in for the AWS Lambda Python base image
# (public.ecr.aws/lambda/python:3.13) on a machine that cannot pull images.
#
# The image is a Debian trixie minbase root filesystem (python3 is 3.13 there)
# imported with `docker import`, plus the pieces of the AWS base that Lambda
# container images rely on:
#   - /lambda-entrypoint.sh, which starts the Runtime Interface Emulator (RIE)
#     when AWS_LAMBDA_RUNTIME_API is unset and the runtime client otherwise;
#   - awslambdaric (the Python runtime interface client), from a cp313 wheel;
#   - /usr/local/bin/aws-lambda-rie, taken from the aws-sam-cli wheel;
#   - WORKDIR /var/task and the LAMBDA_TASK_ROOT / LAMBDA_RUNTIME_DIR variables.
#
# Every download happens on the host (Debian packages through debootstrap,
# wheels through pip), because containers here do not trust the host's
# certificate setup.
#
# Usage: sudo infra/images/offline-base/build.sh
# Environment:
#   IMAGE                 tag to build (default tradewind/lambda-python-offline:3.13)
#   FORCE=1               rebuild even if IMAGE already exists
#   MIRROR                Debian mirror URL (default: the host's apt sources,
#                         else http://deb.debian.org/debian)
#   SUITE                 Debian suite (default trixie, whose python3 is 3.13)
#   AWSLAMBDARIC_VERSION  awslambdaric version from PyPI (default 4.2.2)
#   SAM_CLI_VERSION       aws-sam-cli version that carries the RIE (default 1.170.0)
#   WORK_DIR              parent folder for the temporary root filesystem (default /var/tmp)
set -euo pipefail

IMAGE="${IMAGE:-tradewind/lambda-python-offline:3.13}"
FORCE="${FORCE:-0}"
SUITE="${SUITE:-trixie}"
AWSLAMBDARIC_VERSION="${AWSLAMBDARIC_VERSION:-4.2.2}"
SAM_CLI_VERSION="${SAM_CLI_VERSION:-1.170.0}"
WORK_DIR="${WORK_DIR:-/var/tmp}"

# The interpreter version of SUITE's python3 package. The wheels below must
# match it, so changing SUITE usually means changing this too.
PYTHON_VERSION="3.13"

# debootstrap resolves their dependencies. Recommends are not installed, which
# keeps build-essential and python3-dev (recommended by python3-pip) out.
# python-is-python3 provides `python`, which the AWS base also has.
PACKAGES="python3,python3-pip,python-is-python3,ca-certificates"

log() {
    printf '[offline-base] %s\n' "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

# Print the first Debian archive URL (a URI whose path ends in /debian) from
# the host's apt sources, in one-line (.list) or deb822 (.sources) format.
# Files with other suffixes are ignored, as apt ignores them.
detect_mirror() {
    local files=()
    local file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$file" ]] && files+=("$file")
    done
    if ((${#files[@]} == 0)); then
        return 0
    fi

    awk '
        # One-line format: deb [options] URI suite components
        /^[[:space:]]*deb[[:space:]]/ {
            for (i = 2; i <= NF; i++) {
                if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
                print $i; break
            }
        }
        # deb822 format: URIs: one or more URLs
        /^[[:space:]]*URIs:/ {
            for (i = 2; i <= NF; i++) print $i
        }
    ' "${files[@]}" |
        sed 's:/*$::' |
        grep -E '^https?://[^ ]+/debian$' |
        head -n 1 || true
}

# Unmount anything debootstrap left mounted under the root filesystem (it
# mounts /proc and /sys during its second stage and can leave them behind when
# it fails), then delete the work folder without crossing into other mounts.
cleanup() {
    local mount_point
    if [[ -n "${BUILD_DIR:-}" && -d "$BUILD_DIR" ]]; then
        if [[ -d "${ROOTFS:-}" ]]; then
            # grep exits with 1 when nothing is mounted, which is the usual case.
            { findmnt -rn -o TARGET | grep -F "$ROOTFS/" || true; } | sort -r |
                while read -r mount_point; do
                    umount -l "$mount_point" || log "warning: could not unmount $mount_point"
                done
        fi
        rm -rf --one-file-system "$BUILD_DIR"
    fi
}

# Run a command inside the root filesystem with a clean environment, so the
# host's pip and certificate settings (PIP_FIND_LINKS, PIP_CERT and so on) do
# not leak into it.
in_rootfs() {
    env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        chroot "$ROOTFS" "$@"
}

require_command() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"
}

main() {
    local start_seconds=$SECONDS

    require_command docker "Install Docker Engine first."
    if docker image inspect "$IMAGE" >/dev/null 2>&1 && [[ "$FORCE" != "1" ]]; then
        log "$IMAGE already exists, skipping the build (set FORCE=1 to rebuild)"
        return 0
    fi

    [[ "$(id -u)" == "0" ]] || die "debootstrap and chroot need root. Run this script as root."
    require_command pip "Install pip on the host: the wheels are downloaded there."
    require_command unzip "Install it with: apt-get install unzip"
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    [[ -e "/usr/share/debootstrap/scripts/$SUITE" ]] ||
        die "this debootstrap does not know the suite '$SUITE'. Upgrade debootstrap or set SUITE."

    local mirror="${MIRROR:-}"
    if [[ -z "$mirror" ]]; then
        mirror="$(detect_mirror)"
        mirror="${mirror:-http://deb.debian.org/debian}"
    fi

    BUILD_DIR="$(mktemp -d "$WORK_DIR/lambda-offline-base.XXXXXX")"
    ROOTFS="$BUILD_DIR/rootfs"
    trap cleanup EXIT
    local wheels_dir="$BUILD_DIR/wheels"
    local sam_dir="$BUILD_DIR/sam"

    log "downloading awslambdaric $AWSLAMBDARIC_VERSION wheels for CPython $PYTHON_VERSION"
    # --only-binary fails here, instead of at install time, if PyPI has no
    # cp313 manylinux wheel for awslambdaric or one of its dependencies.
    pip download --quiet --only-binary=:all: \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        --python-version "$PYTHON_VERSION" --implementation cp \
        -d "$wheels_dir" "awslambdaric==$AWSLAMBDARIC_VERSION"

    log "downloading aws-sam-cli $SAM_CLI_VERSION for its bundled Runtime Interface Emulator"
    pip download --quiet --no-deps --only-binary=:all: -d "$sam_dir" "aws-sam-cli==$SAM_CLI_VERSION"
    local sam_wheel
    sam_wheel="$(find "$sam_dir" -name 'aws_sam_cli-*.whl' | head -n 1)"
    [[ -n "$sam_wheel" ]] || die "pip download did not produce an aws-sam-cli wheel in $sam_dir"
    unzip -q -j "$sam_wheel" 'samcli/local/rapid/aws-lambda-rie-x86_64' -d "$sam_dir" ||
        die "$sam_wheel does not contain samcli/local/rapid/aws-lambda-rie-x86_64"

    log "running debootstrap $SUITE from $mirror (minbase, with $PACKAGES)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$mirror" >"$BUILD_DIR/debootstrap.log" 2>&1 || {
        tail -n 30 "$BUILD_DIR/debootstrap.log" >&2
        die "debootstrap failed, the last lines of its log are above"
    }

    local rootfs_python
    rootfs_python="$(in_rootfs python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    [[ "$rootfs_python" == "$PYTHON_VERSION" ]] ||
        die "$SUITE ships Python $rootfs_python, but the wheels were downloaded for $PYTHON_VERSION"

    # The AWS base lets `pip install` write to the system interpreter, and
    # Debian's PEP 668 marker would reject that, so remove the marker to keep
    # Dockerfiles written for the AWS base working here.
    rm -f "$ROOTFS/usr/lib/python$PYTHON_VERSION/EXTERNALLY-MANAGED"

    log "installing awslambdaric into the root filesystem"
    cp -r "$wheels_dir" "$ROOTFS/tmp/wheels"
    in_rootfs python3 -m pip install --quiet --no-index --find-links /tmp/wheels \
        --root-user-action=ignore --no-cache-dir "awslambdaric==$AWSLAMBDARIC_VERSION"
    rm -rf "$ROOTFS/tmp/wheels"

    install -m 0755 "$sam_dir/aws-lambda-rie-x86_64" "$ROOTFS/usr/local/bin/aws-lambda-rie"
    cat >"$ROOTFS/lambda-entrypoint.sh" <<'EOF'
#!/bin/sh
# Start the Python runtime interface client with the handler given as the
# command, for example functions.orders.place_order.app.app. Outside Lambda
# (AWS_LAMBDA_RUNTIME_API unset) the Runtime Interface Emulator runs the client
# and serves the invoke API on port 8080.
if [ $# -ne 1 ]; then
  echo "lambda-entrypoint.sh: expected exactly one argument, the handler (module.function), got $#" 1>&2
  exit 142
fi
export _HANDLER="$1"

# Lambda runs functions from the task root. `python3 -m` puts the working
# directory on sys.path, which is how the handler module is found.
cd "${LAMBDA_TASK_ROOT:-/var/task}" || exit 1

if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie python3 -m awslambdaric "$@"
else
  exec python3 -m awslambdaric "$@"
fi
EOF
    chmod 0755 "$ROOTFS/lambda-entrypoint.sh"
    mkdir -p "$ROOTFS/var/task" "$ROOTFS/var/runtime" "$ROOTFS/opt"

    log "removing package caches and documentation"
    in_rootfs apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* \
        "$ROOTFS"/var/cache/apt/*.bin \
        "$ROOTFS"/var/cache/debconf/*-old \
        "$ROOTFS"/var/log/* \
        "$ROOTFS"/usr/share/doc/* \
        "$ROOTFS"/usr/share/man/* \
        "$ROOTFS"/usr/share/info/* \
        "$ROOTFS"/usr/share/locale/* \
        "$ROOTFS"/usr/share/lintian \
        "$ROOTFS"/root/.cache \
        "$ROOTFS"/tmp/*
    # Packages installed later in derived images skip these paths too.
    cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/excludes" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOF

    log "importing the root filesystem as $IMAGE"
    # The AWS base puts Python in /var/lang/bin, so that directory stays first
    # on PATH for images that add a Python there.
    tar --numeric-owner -C "$ROOTFS" -c . |
        docker import \
            --message "Debian $SUITE stand-in for public.ecr.aws/lambda/python:$PYTHON_VERSION" \
            --change 'WORKDIR /var/task' \
            --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
            --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
            --change 'ENV PATH=/var/lang/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
            - "$IMAGE" >/dev/null

    local size_bytes
    size_bytes="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
    log "built $IMAGE in $((SECONDS - start_seconds)) s, image size $((size_bytes / 1000000)) MB"
}

main "$@"
