"""Build every function's container image from template.yaml (`python -m infra.images.build`).

Each `AWS::Serverless::Function` names its Dockerfile, build context and
FUNCTION_DIR in its Metadata, as `sam build` reads them. The image is tagged
`tradewind/<logical id in lowercase>:latest`.

The base image is BASE_IMAGE (default: the AWS Lambda Python base). When that
image is neither present locally nor pullable, the build switches to the
offline stand-in from infra/images/offline-base/build.sh and installs the
function packages from the wheels that infra/images/wheels.sh downloads on the
host, building both first when needed. The legacy builder's layer cache keeps
a rebuild without changes to a few seconds per image.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from infra.local.containers import docker_available
from infra.local.template import Function, Template, TemplateError, load

log = logging.getLogger("tradewind.images")

ROOT = Path(__file__).resolve().parents[2]
AWS_BASE_IMAGE = "public.ecr.aws/lambda/python:3.13"
OFFLINE_BASE_IMAGE = "tradewind/lambda-python-offline:3.13"
IMAGE_PREFIX = "tradewind/"
WHEELS_DIR = ".wheels"
PULL_TIMEOUT_SECONDS = 300


class BuildError(Exception):
    """An image could not be built; the message names the image and the cause."""


@dataclass(frozen=True)
class ImageSpec:
    """How to build one function's image, as the template's Metadata describes it."""

    function: str
    tag: str
    dockerfile: Path
    context: Path
    build_args: dict[str, str]


def image_tag(function_name: str) -> str:
    return f"{IMAGE_PREFIX}{function_name.lower()}:latest"


def image_specs(template: Template, root: Path = ROOT) -> list[ImageSpec]:
    """Read the Dockerfile, context and build arguments of every function; raises TemplateError when one is missing."""
    return [_image_spec(function, root) for function in template.functions.values()]


def _image_spec(function: Function, root: Path) -> ImageSpec:
    metadata = function.image_metadata
    missing = [key for key in ("Dockerfile", "DockerContext") if key not in metadata]
    if missing:
        raise TemplateError(f"function {function.name} has no Metadata.{missing[0]}: every image function needs Dockerfile and DockerContext")
    # Arguments given as template parameters (BASE_IMAGE, WHEELS_DIR) are chosen by this builder instead.
    build_args = {key: str(value) for key, value in metadata.get("DockerBuildArgs", {}).items() if not isinstance(value, dict)}
    if "FUNCTION_DIR" not in build_args:
        raise TemplateError(f"function {function.name} has no Metadata.DockerBuildArgs.FUNCTION_DIR, e.g. functions/orders/place_order")
    context = (root / metadata["DockerContext"]).resolve()
    # SAM resolves Dockerfile relative to DockerContext.
    dockerfile = (context / metadata["Dockerfile"]).resolve()
    return ImageSpec(function=function.name, tag=image_tag(function.name), dockerfile=dockerfile, context=context, build_args=build_args)


def docker(*arguments: str, timeout: float | None = None, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *arguments], capture_output=capture, text=True, timeout=timeout)


def image_exists(image: str) -> bool:
    return docker("image", "inspect", image).returncode == 0


def try_pull(image: str) -> bool:
    log.info("pulling %s", image)
    try:
        result = docker("pull", image, timeout=PULL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("docker pull %s timed out after %d s", image, PULL_TIMEOUT_SECONDS)
        return False
    if result.returncode != 0:
        log.warning("docker pull %s failed: %s", image, result.stderr.strip().splitlines()[-1:] or "no output")
        return False
    return True


def choose_base(requested: str, root: Path = ROOT) -> tuple[str, str | None]:
    """Return the base image to build on and the wheel folder to install from (None means PyPI).

    The offline base and its wheels are made on the host when the requested
    base cannot be had, because containers on such a machine download nothing.
    """
    wheels = os.environ.get("WHEELS_DIR") or None
    if image_exists(requested):
        return requested, wheels
    if requested != OFFLINE_BASE_IMAGE and try_pull(requested):
        return requested, wheels

    if requested != OFFLINE_BASE_IMAGE:
        log.warning("base image %s is not available; building on the offline stand-in %s", requested, OFFLINE_BASE_IMAGE)
    _run_script(root / "infra/images/offline-base/build.sh", {"IMAGE": OFFLINE_BASE_IMAGE}, root)
    _run_script(root / "infra/images/wheels.sh", {"WHEELS_DIR": WHEELS_DIR}, root)
    return OFFLINE_BASE_IMAGE, wheels or WHEELS_DIR


def _run_script(script: Path, environment: dict[str, str], root: Path) -> None:
    log.info("running %s", script.relative_to(root))
    result = subprocess.run(["bash", str(script)], cwd=root, env=os.environ | environment)
    if result.returncode != 0:
        raise BuildError(f"{script.relative_to(root)} failed with exit code {result.returncode}; its output is above")


def ensure_dockerignore(context: Path, root: Path = ROOT) -> None:
    """Install infra/images/dockerignore as the context's .dockerignore, so the legacy builder sends only what the images copy."""
    source = root / "infra/images/dockerignore"
    target = context / ".dockerignore"
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    log.info("installing %s as %s", source.relative_to(root), target)
    shutil.copyfile(source, target)


def build_image(spec: ImageSpec, base_image: str, wheels_dir: str | None) -> float:
    """Build one image and return the build time in seconds; raises BuildError with docker's output on failure."""
    arguments = ["build", "-q", "-f", str(spec.dockerfile), "-t", spec.tag, "--build-arg", f"BASE_IMAGE={base_image}"]
    if wheels_dir:
        arguments += ["--build-arg", f"WHEELS_DIR={wheels_dir}"]
    for key, value in spec.build_args.items():
        arguments += ["--build-arg", f"{key}={value}"]
    arguments.append(str(spec.context))

    started = time.monotonic()
    result = docker(*arguments)
    if result.returncode != 0:
        raise BuildError(f"docker build of {spec.tag} ({spec.function}) failed:\n{result.stdout}{result.stderr}")
    return time.monotonic() - started


def build_all(template_path: Path, base_image: str, only: list[str] | None = None) -> list[ImageSpec]:
    """Build the images of every function (or of the logical ids in `only`) and return their specs."""
    specs = image_specs(load(template_path))
    if only:
        unknown = sorted(set(only) - {spec.function for spec in specs})
        if unknown:
            raise BuildError(f"no function named {', '.join(unknown)} in {template_path}")
        specs = [spec for spec in specs if spec.function in only]

    base, wheels = choose_base(base_image)
    for context in {spec.context for spec in specs}:
        ensure_dockerignore(context)
    log.info("building %d images on %s%s", len(specs), base, f" with wheels from {wheels}" if wheels else "")
    for spec in specs:
        seconds = build_image(spec, base, wheels)
        log.info("built %s in %.1f s", spec.tag, seconds)
    return specs


def main() -> int:
    parser = argparse.ArgumentParser(description="Build every function's container image from template.yaml.")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml", help="SAM template to read (default: template.yaml)")
    parser.add_argument(
        "--base-image",
        default=os.environ.get("BASE_IMAGE") or AWS_BASE_IMAGE,
        help=f"Lambda Python base image (default: $BASE_IMAGE or {AWS_BASE_IMAGE}); falls back to {OFFLINE_BASE_IMAGE} when unavailable",
    )
    parser.add_argument(
        "--skip-without-docker",
        action="store_true",
        help="exit 0 with a note when no Docker daemon responds (the container tests then skip too)",
    )
    parser.add_argument("functions", nargs="*", help="logical ids to build (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[images] %(message)s", stream=sys.stderr)

    if not docker_available():
        if args.skip_without_docker:
            log.warning("no Docker daemon responds to `docker info`; skipping the image build")
            return 0
        log.error("no Docker daemon responds to `docker info`; install and start Docker Engine to build the function images")
        return 1
    try:
        build_all(args.template, args.base_image, args.functions)
    except (BuildError, TemplateError) as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
